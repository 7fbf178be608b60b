/* smtp_char.h - ASCII character classes and case-insensitive comparisons shared by the SMTP library and the postoffice formats. */
#ifndef SPOOLGATE_SMTP_CHAR_H
#define SPOOLGATE_SMTP_CHAR_H

#include <stddef.h>
#include <stdint.h>

/* Only ASCII counts: these never look at the locale, and an octet >= 0x80
 * is in no class. */
static inline int smtp_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline int smtp_is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

static inline int smtp_is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}

static inline int smtp_is_alnum(int c)
{
    return smtp_is_digit(c) || smtp_is_upper(c) || smtp_is_lower(c);
}

/* 0-9 A-F: the hex digits xtext and P1 file names use. */
static inline int smtp_is_upper_hex(int c)
{
    return smtp_is_digit(c) || (c >= 'A' && c <= 'F');
}

static inline int smtp_to_upper(int c)
{
    return smtp_is_lower(c) ? c - 'a' + 'A' : c;
}

static inline int smtp_to_lower(int c)
{
    return smtp_is_upper(c) ? c - 'A' + 'a' : c;
}

/* RFC 5322 3.2.3 atext: what a dot-atom is made of. */
static inline int smtp_is_atext(int c)
{
    if (smtp_is_alnum(c))
        return 1;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
        return 1;
    default:
        return 0;
    }
}

/* Do a[0..n) and b[0..n) hold the same octets, ignoring ASCII case? */
int smtp_ci_mem(const char *a, const char *b, size_t n);
/* Does a[0..alen) equal the NUL-terminated lit, ignoring ASCII case? */
int smtp_ci_equal(const char *a, size_t alen, const char *lit);
/* Is s[0..len) well-formed UTF-8 (shortest form, no surrogates, <= U+10FFFF)? */
int smtp_utf8_valid(const char *s, size_t len);
/* The well-formed UTF-8 character at the start of s[0..len) (an ASCII octet
 * is one): its length in octets (1-4), with its code point in *cp; 0 when
 * s does not start with one (or len is 0). */
size_t smtp_utf8_char(const char *s, size_t len, uint32_t *cp);
/* Does s[0..len) hold an octet >= 0x80? */
int smtp_has_8bit(const char *s, size_t len);
/* Does s[0..len) hold a control octet (0x00-0x1f: CR, LF, NUL...; or DEL)? */
int smtp_has_control(const char *s, size_t len);
/* 1..max_digits decimal digits into *v: 0, or -1 on anything else or overflow. */
int smtp_parse_u64(const char *s, size_t len, size_t max_digits, uint64_t *v);

#endif
