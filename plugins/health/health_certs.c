/*
 * health_certs.c — `certificates =`: each PEM file's first certificate
 * must not expire within cert_fail_days (fail) or cert_warn_days (warn).
 *
 * Why libcrypto reads the file: it is the same parser the TLS server
 * uses, so a file it cannot read is a finding too (the server could not
 * read it either), and notAfter is compared with ASN1_TIME_diff, which
 * knows both UTCTime and GeneralizedTime.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <caretaker/plugin.h>

#include "health.h"

/* Reads the first certificate of `path`; NULL with words in `err`. */
static X509 *
cert_read(const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "re");
	X509 *x = NULL;

	if (f == NULL) {
		snprintf(err, err_size, "%s", strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		snprintf(err, err_size, "no PEM certificate in the file");
	return x;
}

/* `left_s` seconds of validity left: fail within cert_fail_days (or
 * expired), warn within cert_warn_days. */
static int
level_of(double left_s, const struct health_opts *o)
{
	if (left_s < (double)o->cert_fail_days * 86400)
		return HEALTH_FAIL;
	return left_s < (double)o->cert_warn_days * 86400 ? HEALTH_WARN : HEALTH_OK;
}

static void
check_one(struct plugin_host *h, const struct health_opts *o, const char *path,
          struct health_tally *tally)
{
	char err[256], subject[256] = "?";
	int days = 0, secs = 0;
	double left_s;
	X509 *x = cert_read(path, err, sizeof(err));

	if (x == NULL) {
		health_say(h, tally, HEALTH_FAIL, path, "cannot read the certificate: %s", err);
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x))) {
		health_say(h, tally, HEALTH_FAIL, path, "%s: unreadable expiry date", subject);
		goto out;
	}
	left_s = (double)days * 86400 + secs;
	if (left_s <= 0)
		health_say(h, tally, HEALTH_FAIL, path, "%s expired %.1f days ago", subject,
		           -left_s / 86400);
	else
		health_say(h, tally, level_of(left_s, o), path,
		           "%s expires in %.1f days (warn within %lld, fail within %lld)", subject,
		           left_s / 86400, (long long)o->cert_warn_days,
		           (long long)o->cert_fail_days);
out:
	X509_free(x);
}

void
health_check_certs(struct plugin_host *h, const struct health_opts *o, struct health_tally *tally)
{
	for (size_t i = 0; i < o->n_certificates; i++)
		check_one(h, o, o->certificates[i], tally);
}
