/*
 * errors.h — words for the CT_E* codes of caretaker/errors.h.
 */
#ifndef CT_CORE_ERRORS_H
#define CT_CORE_ERRORS_H

#include <caretaker/errors.h>

/* Static text for `code`; unknown codes get "unknown error". */
const char *ct_strerror(int code);

#endif
