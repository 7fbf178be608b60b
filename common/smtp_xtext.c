/* smtp_xtext.c - RFC 3461 xtext (ENVID, ORCPT): checked, encoded and decoded. */
#include "smtp_xtext.h"

#include "smtp_char.h"

static int xchar(unsigned char c)
{
    return c >= 33 && c <= 126 && c != '+' && c != '=';
}

static unsigned hex_value(char c)
{
    return smtp_is_digit((unsigned char)c) ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);
}

/* Is s[i..len) "+XX" with upper-case hex? */
static int hexchar_at(const char *s, size_t len, size_t i)
{
    return len - i >= 3 && s[i] == '+' && smtp_is_upper_hex((unsigned char)s[i + 1]) &&
           smtp_is_upper_hex((unsigned char)s[i + 2]);
}

int smtp_xtext_valid(const char *s, size_t len)
{
    size_t i = 0;

    if (s == NULL)
        return len == 0;
    while (i < len) {
        if (hexchar_at(s, len, i))
            i += 3;
        else if (xchar((unsigned char)s[i]))
            i++;
        else
            return 0;
    }
    return 1;
}

int smtp_xtext_encode(const char *s, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    if (out == NULL || outsz == 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (xchar(*p)) {
            if (o + 1 >= outsz)
                goto full;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= outsz)
                goto full;
            out[o++] = '+';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
full:
    out[0] = '\0';
    return -1;
}

long smtp_xtext_decode(const char *s, size_t len, char *out, size_t outsz)
{
    size_t i = 0, o = 0;

    if (out == NULL || outsz == 0)
        return -1;
    if (s == NULL && len > 0)
        goto bad;
    while (i < len) {
        if (o + 1 >= outsz)
            goto bad;
        if (hexchar_at(s, len, i)) {
            out[o++] = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
            i += 3;
        } else if (xchar((unsigned char)s[i])) {
            out[o++] = s[i++];
        } else {
            goto bad;
        }
    }
    out[o] = '\0';
    return (long)o;
bad:
    out[0] = '\0';
    return -1;
}
