/* libFuzzer target for config/: any bytes go to cfg_load_text. A rejected input must give one
 * non-empty line naming the input; an accepted one must print with cfg_to_json and load back to
 * the identical struct. Anything else aborts, which libFuzzer reports as a crash. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cfg_t a, b;
    char err[CFG_ERR_MAX];
    char *json;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (cfg_load_text(&a, "fuzz", (const char *)data, size, err) != 0) {
        size_t n = strnlen(err, sizeof(err));

        if (n == 0 || n == sizeof(err) || strncmp(err, "fuzz", 4) != 0 || strpbrk(err, "\r\n"))
            abort();
        return 0;
    }
    json = cfg_to_json(&a);
    if (json == NULL)
        abort();
    if (cfg_load_text(&b, "round-trip", json, strlen(json), err) != 0)
        abort();
    if (memcmp(&a, &b, sizeof(a)) != 0)
        abort();
    free(json);
    return 0;
}
