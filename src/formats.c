/*
 * The string formats annotations can ask for ({format="..."}): uuid, date,
 * date-time (RFC 3339), ipv4, ipv6, email (RFC 5321 addresses) and uri
 * (RFC 3986 absolute URIs), as JSON Schema defines them. Each check returns
 * NULL for a valid string or the reason it is not; validate.c turns that into
 * Pydantic's error for the format.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "formats.h"

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

const char *mt_format_uuid_error(const char *s)
{
    if (strlen(s) != 36)
        return "invalid length: expected 36 characters";
    if (!(all_hex(s, 8) && s[8] == '-' && all_hex(s + 9, 4) && s[13] == '-' && all_hex(s + 14, 4) && s[18] == '-' &&
          all_hex(s + 19, 4) && s[23] == '-' && all_hex(s + 24, 12)))
        return "invalid character: expected hexadecimal digits in groups of 8-4-4-4-12";
    return NULL;
}

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static const char *full_date_error(const char *s)
{
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
        return "invalid date format: expected YYYY-MM-DD";
    int year = atoi(s), month = atoi(s + 5), day = atoi(s + 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return "month value is outside expected range of 1-12";
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > days[month - 1] + (month == 2 && leap))
        return "day value is outside expected range";
    return NULL;
}

const char *mt_format_date_error(const char *s)
{
    return strlen(s) != 10 ? "invalid date format: expected YYYY-MM-DD" : full_date_error(s);
}

/* RFC 3339: 2024-01-31T12:30:00[.frac](Z|+hh:mm); a leap second only at 23:59 UTC */
const char *mt_format_date_time_error(const char *s)
{
    if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
        return "invalid datetime format: expected YYYY-MM-DDTHH:MM:SS with a time zone";
    const char *err = full_date_error(s);
    if (err != NULL)
        return err;
    const char *t = s + 11;
    if (!digits(t, 2) || t[2] != ':' || !digits(t + 3, 2) || t[5] != ':' || !digits(t + 6, 2))
        return "invalid time format: expected HH:MM:SS";
    int hour = atoi(t), minute = atoi(t + 3), second = atoi(t + 6);
    if (hour > 23 || minute > 59 || second > 60)
        return "time value is outside expected range";
    t += 8;
    if (*t == '.') {
        if (!isdigit((unsigned char)*++t))
            return "invalid fraction of a second";
        while (isdigit((unsigned char)*t))
            t++;
    }
    int offset = 0;
    if ((*t == 'Z' || *t == 'z') && t[1] == '\0') {
        offset = 0;
    } else if ((*t == '+' || *t == '-') && digits(t + 1, 2) && t[3] == ':' && digits(t + 4, 2) && t[6] == '\0') {
        if (atoi(t + 1) > 23 || atoi(t + 4) > 59)
            return "time zone offset is outside expected range";
        offset = (*t == '+' ? 1 : -1) * (atoi(t + 1) * 60 + atoi(t + 4));
    } else {
        return "invalid time zone: expected Z or +HH:MM";
    }
    int utc_minute = ((hour * 60 + minute - offset) % 1440 + 1440) % 1440;
    if (second == 60 && utc_minute != 23 * 60 + 59)
        return "a leap second is only valid at 23:59:60 UTC";
    return NULL;
}

int mt_format_is_ipv4(const char *s, size_t len)
{
    const char *end = s + len;
    for (int part = 0; part < 4; part++) {
        int value = 0, n = 0;
        const char *start = s;
        while (s < end && isdigit((unsigned char)*s) && n < 4)
            value = value * 10 + (*s++ - '0'), n++;
        if (n == 0 || n > 3 || value > 255 || (n > 1 && *start == '0'))
            return 0;
        if (part < 3 && (s >= end || *s++ != '.'))
            return 0;
    }
    return s == end;
}

int mt_format_is_ipv6(const char *s, size_t len)
{
    const char *end = s + len;
    int groups = 0, compressed = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':')
        compressed = 1, s += 2;
    else if (len != 0 && *s == ':')
        return 0;
    while (s < end) {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        if (colon == NULL && memchr(s, '.', (size_t)(end - s)) != NULL) /* a trailing dotted IPv4 */
            return mt_format_is_ipv4(s, (size_t)(end - s)) && (compressed ? groups + 2 <= 7 : groups + 2 == 8);
        int n = 0;
        while (s + n < end && isxdigit((unsigned char)s[n]))
            n++;
        if (n == 0 || n > 4)
            return 0;
        groups++;
        s += n;
        if (s == end)
            break;
        if (*s++ != ':' || s == end)
            return 0;
        if (*s == ':') {
            if (compressed)
                return 0;
            compressed = 1;
            s++;
        }
    }
    return compressed ? groups <= 7 : groups == 8;
}

static int is_atext(char c)
{
    return isalnum((unsigned char)c) || strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

/* RFC 5321 addresses: dot-atoms or a quoted local part; a domain name or an address literal */
const char *mt_format_email_error(const char *s)
{
    const char *at = strrchr(s, '@');
    if (at == NULL)
        return "An email address must have an @-sign.";
    if (at == s)
        return "There must be something before the @-sign.";
    if (s[0] == '"') { /* "quoted local part" */
        const char *q = s + 1;
        for (; q < at && *q != '"'; q++)
            if (*q == '\\' && q + 1 < at)
                q++;
        if (q + 1 != at)
            return "The quoted part before the @-sign is not valid.";
    } else {
        for (const char *c = s; c < at; c++) {
            if (*c == '.') {
                if (c == s || c + 1 == at || c[1] == '.')
                    return "A dot may not start, end or repeat in the part before the @-sign.";
            } else if (!is_atext(*c)) {
                return "The part before the @-sign contains a character that is not allowed.";
            }
        }
    }
    const char *domain = at + 1;
    size_t len = strlen(domain);
    if (len >= 2 && domain[0] == '[' && domain[len - 1] == ']') {
        if (strncmp(domain, "[IPv6:", 6) == 0)
            return mt_format_is_ipv6(domain + 6, len - 7) ? NULL : "The IPv6 address literal is not valid.";
        return mt_format_is_ipv4(domain + 1, len - 2) ? NULL : "The IPv4 address literal is not valid.";
    }
    if (strchr(domain, '.') == NULL)
        return "The part after the @-sign is not valid. It should have a period.";
    const char *label = domain;
    for (const char *c = domain;; c++) {
        if (*c == '.' || *c == '\0') {
            if (c == label || label[0] == '-' || c[-1] == '-' || c - label > 63)
                return "The part after the @-sign is not a valid domain name.";
            if (*c == '\0')
                break;
            label = c + 1;
        } else if (!isalnum((unsigned char)*c) && *c != '-') {
            return "The part after the @-sign contains a character that is not allowed.";
        }
    }
    return NULL;
}

static int is_unreserved_or_sub_delim(char c)
{
    return isalnum((unsigned char)c) || strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* Checks pchar-like text: allowed characters plus valid %XX; `extra` lists more allowed characters. */
static int uri_chars(const char *s, const char *end, const char *extra)
{
    for (; s < end; s++) {
        if (*s == '%') {
            if (end - s < 3 || !isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
                return 0;
            s += 2;
        } else if (!is_unreserved_or_sub_delim(*s) && strchr(extra, *s) == NULL) {
            return 0;
        }
    }
    return 1;
}

/* RFC 3986 absolute URI: scheme ":" hier-part ["?" query] ["#" fragment] */
const char *mt_format_uri_error(const char *s)
{
    if (!isalpha((unsigned char)*s))
        return "relative URL without a base";
    const char *c = s + 1;
    while (isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.')
        c++;
    if (*c != ':')
        return "relative URL without a base";
    c++;
    const char *end = c + strcspn(c, "?#");
    if (c[0] == '/' && c[1] == '/') { /* authority */
        const char *authority = c + 2, *auth_end = authority + strcspn(authority, "/?#");
        if (auth_end > end)
            auth_end = end;
        const char *at = memchr(authority, '@', (size_t)(auth_end - authority));
        const char *host = authority;
        if (at != NULL) {
            if (!uri_chars(authority, at, ":"))
                return "invalid user information";
            host = at + 1;
        }
        const char *port = NULL, *host_end = auth_end;
        if (*host == '[') {
            const char *close = memchr(host, ']', (size_t)(auth_end - host));
            if (close == NULL || !mt_format_is_ipv6(host + 1, (size_t)(close - host - 1)))
                return "invalid IPv6 address";
            if (close + 1 < auth_end && close[1] != ':')
                return "invalid international domain name";
            port = close + 1 < auth_end ? close + 2 : NULL;
            host_end = close + 1;
        } else {
            const char *colon = memchr(host, ':', (size_t)(auth_end - host));
            if (colon != NULL)
                port = colon + 1, host_end = colon;
            if (!uri_chars(host, host_end, ""))
                return "invalid international domain name";
        }
        for (const char *p = port; p != NULL && p < auth_end; p++)
            if (!isdigit((unsigned char)*p))
                return "invalid port number";
        c = auth_end;
    }
    if (!uri_chars(c, end, ":@/"))
        return "invalid character in the path";
    if (*end == '?') {
        const char *query_end = end + 1 + strcspn(end + 1, "#");
        if (!uri_chars(end + 1, query_end, ":@/?"))
            return "invalid character in the query";
        end = query_end;
    }
    if (*end == '#' && !uri_chars(end + 1, end + 1 + strlen(end + 1), ":@/?"))
        return "invalid character in the fragment";
    return NULL;
}
