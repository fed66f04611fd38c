/* A descriptor of only 16 bytes: the right ABI, far too small. */
#include <stdint.h>

#include <caretaker/plugin.h>

struct tiny_descriptor {
	uint32_t abi_version;
	uint32_t size;
	uint64_t nothing;
};

CT_EXPORT extern const struct tiny_descriptor caretaker_plugin;
CT_EXPORT const struct tiny_descriptor caretaker_plugin = {
    .abi_version = CT_ABI_VERSION,
    .size = sizeof(struct tiny_descriptor),
};
