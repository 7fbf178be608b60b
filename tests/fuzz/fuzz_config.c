/* fuzz_config.c - fuzzes the INI config loader config_parse_text (common/config.c) and the value parsers; a config that loads holds every value in its key's range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_values(const struct sg_config *c)
{
    for (const struct cfg_key *k = cfg_keys; k->name; k++) {
        const void *field = (const char *)c + k->offset;
        long long v;
        const char *s;

        switch (k->type) {
        case CFG_INT:
        case CFG_SIZE:
        case CFG_DURATION:
            v = *(const long long *)field;
            if (v < k->min || v > k->max)
                abort(); /* in range */
            break;
        case CFG_BOOL:
            v = *(const long long *)field;
            if (v != 0 && v != 1)
                abort();
            break;
        case CFG_ENUM:
            s = *(const char *const *)field;
            if (s == NULL || cfg_parse_enum(s, k->choices, NULL, 0) != 0)
                abort(); /* one of the choices */
            break;
        case CFG_STRING:
            s = *(const char *const *)field;
            if (s == NULL || (k->max && (long long)strlen(s) > k->max))
                abort();
            break;
        case CFG_PATH:
            s = *(const char *const *)field;
            if (s == NULL || (s[0] && s[0] != '/'))
                abort(); /* made absolute */
            break;
        }
    }
}

/* Does every path still fit its key's length limit once made absolute? */
static int paths_fit(const struct sg_config *c)
{
    for (const struct cfg_key *k = cfg_keys; k->name; k++)
        if (k->type == CFG_PATH && k->max &&
            (long long)strlen(*(char *const *)((const char *)c + k->offset)) > k->max)
            return 0;
    return 1;
}

/* The longest line a config file may have: inih's line buffer (200) less CRLF. */
#define FUZZ_INI_LINE_MAX 198

static size_t longest_line(const char *text)
{
    size_t longest = 0;

    while (*text) {
        size_t n = strcspn(text, "\n");

        if (n > longest)
            longest = n;
        text += n + (text[n] == '\n');
    }
    return longest;
}

/* What config_dump writes loads again, to the same values. */
static void check_dump(const struct sg_config *c)
{
    char *text = NULL, err[4096], changed[1024];
    size_t len = 0;
    struct sg_config *again;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return;
    config_dump(f, c, 1);
    fclose(f);
    if (longest_line(text) > FUZZ_INI_LINE_MAX) {
        /* a derived path (state_dir + "/store") past the line limit: known, see test_config */
        free(text);
        return;
    }
    again = config_parse_text(text, "dump.ini", err, sizeof(err));
    if (!again)
        abort(); /* the dump of a loaded config loads */
    if (config_changed(c, again, "global,store,smtpd,router,gateway", NULL, changed,
                       sizeof(changed)) != 0)
        abort(); /* to the same values */
    config_free(again);
    free(text);
}

/* The value parsers on the text (as a string) with a range from its first octet. */
static void check_value_parsers(const char *z, unsigned char c)
{
    long long min = c & 0x80 ? 0 : -1000, max = (long long)(c & 0x7f) << (c & 0x1f), v;
    char why[128];
    int b;

    if (cfg_parse_int(z, min, max, &v, why, sizeof(why)) == 0 && (v < min || v > max))
        abort();
    if (cfg_parse_size(z, min, max, &v, why, sizeof(why)) == 0 && (v < min || v > max))
        abort();
    if (cfg_parse_duration(z, min, max, &v, why, sizeof(why)) == 0 && (v < min || v > max))
        abort();
    if (cfg_parse_bool(z, &b, why, sizeof(why)) == 0 && b != 0 && b != 1)
        abort();
    (void)cfg_parse_enum(z, "none|may|verify", why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *z = malloc(size + 1), err[4096], warn[512];
    struct sg_config *c;

    if (!z)
        return 0;
    memcpy(z, data, size);
    z[size] = '\0';
    c = config_parse_text(z, "fuzz.ini", err, sizeof(err));
    if (c) {
        check_values(c);
        (void)config_warning(c, warn, sizeof(warn));
        if (paths_fit(c))
            check_dump(c);
        config_free(c);
    } else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
        abort(); /* a refusal says why */
    }
    check_value_parsers(z, size ? data[0] : 0);
    free(z);
    return 0;
}
