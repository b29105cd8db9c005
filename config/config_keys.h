/* config_keys: private to config/. The table of every key (dotted path, type, range, place in
 * cfg_t) and the cross-key rules. Loading, validation and printing all walk it, so adding a key
 * is one row in config_keys.c plus one line in config/server.json, the only place defaults live.
 * It knows nothing of JSON text. */
#ifndef GSKEL_CONFIG_KEYS_H
#define GSKEL_CONFIG_KEYS_H

#include "config.h"

#define CFG_PATH_MAX 64  /* longest dotted path, plus NUL */
#define CFG_NKEYS_MAX 96 /* room for per-key flags during a load */

typedef enum { CFG_T_UINT, CFG_T_BOOL, CFG_T_STR, CFG_T_ENUM, CFG_T_CIDRS } cfg_type_t;

typedef struct cfg_key {
    const char *path;
    cfg_type_t type;
    uint32_t min, max;        /* CFG_T_UINT; CFG_T_STR: length in bytes; CFG_T_ENUM: 0..n-1; CFG_T_CIDRS: entries */
    size_t off, size;         /* the field in cfg_t; enum fields are stored as int */
    const char *const *names; /* CFG_T_ENUM: the JSON spelling of each value, in enum order */
    bool live;                /* SIGHUP applies it to the running server (else: restart needed) */
} cfg_key_t;

/* The value at `big` must be >= the value at `small` (both CFG_T_UINT). */
typedef struct cfg_rule {
    const char *big, *small;
} cfg_rule_t;

extern const cfg_key_t cfg_keys[];
extern const size_t cfg_nkeys;
extern const cfg_rule_t cfg_rules[];
extern const size_t cfg_nrules;

const cfg_key_t *cfg_key_find(const char *path);
/* Whether `path` names an object that holds keys ("socket"). */
bool cfg_key_is_section(const char *path);
/* The known path whose component after `prefix_len` bytes is a likely typo of `path`'s, or NULL. */
const char *cfg_key_suggest(const char *path, size_t prefix_len);
/* What the key accepts, as the tail of an error message ("must be an integer in 0..65535"). */
void cfg_key_expect(const cfg_key_t *k, char *buf, size_t cap);
uint32_t cfg_key_uint(const cfg_t *c, const cfg_key_t *k);
int cfg_key_enum(const cfg_t *c, const cfg_key_t *k);

#endif
