/* config_print: the effective config back as JSON (cfg_to_json), built from the key table so it
 * has every key, in config/server.json's shape and order, and reads back to the same struct. */
#include "config.h"

#include "config_keys.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The object for the dotted prefix of `path` (everything before the last dot), created as
 * needed, and in *leaf the last component. */
static cJSON *cfg_json_parent(cJSON *root, const char *path, const char **leaf)
{
    cJSON *obj = root;
    const char *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        char comp[CFG_PATH_MAX];
        cJSON *next;

        snprintf(comp, sizeof(comp), "%.*s", (int)(dot - path), path);
        next = cJSON_GetObjectItemCaseSensitive(obj, comp);
        if (next == NULL)
            next = cJSON_AddObjectToObject(obj, comp);
        if (next == NULL)
            return NULL;
        obj = next;
        path = dot + 1;
    }
    *leaf = path;
    return obj;
}

static bool cfg_json_add(cJSON *root, const cfg_t *c, const cfg_key_t *k)
{
    const char *field = (const char *)c + k->off, *leaf;
    cJSON *obj = cfg_json_parent(root, k->path, &leaf);
    char str[CFG_HOST_MAX + 1];
    bool b;
    int e;

    if (obj == NULL)
        return false;
    switch (k->type) {
    case CFG_T_UINT:
        return cJSON_AddNumberToObject(obj, leaf, (double)cfg_key_uint(c, k)) != NULL;
    case CFG_T_BOOL:
        memcpy(&b, field, sizeof(b));
        return cJSON_AddBoolToObject(obj, leaf, b) != NULL;
    case CFG_T_STR:
        snprintf(str, sizeof(str), "%.*s", (int)strnlen(field, k->size), field);
        return cJSON_AddStringToObject(obj, leaf, str) != NULL;
    case CFG_T_CIDRS: {
        const cidr_list_t *l = (const cidr_list_t *)(const void *)field;
        cJSON *arr = cJSON_AddArrayToObject(obj, leaf);

        for (uint32_t i = 0; arr != NULL && i < l->n; i++) {
            char text[CIDR_TEXT_MAX];

            if (cidr_format(&l->v[i], text, sizeof(text)) < 0 || !cJSON_AddItemToArray(arr, cJSON_CreateString(text)))
                return false;
        }
        return arr != NULL;
    }
    case CFG_T_ENUM:
        e = cfg_key_enum(c, k);
        if (e < 0 || (uint32_t)e > k->max)
            return false;
        return cJSON_AddStringToObject(obj, leaf, k->names[e]) != NULL;
    }
    return false;
}

char *cfg_to_json(const cfg_t *c)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;

    for (size_t i = 0; root != NULL && i < cfg_nkeys; i++) {
        if (!cfg_json_add(root, c, &cfg_keys[i])) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    /* cJSON allocates with malloc (no hooks are installed), so the caller's free() matches */
    if (root != NULL)
        text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}
