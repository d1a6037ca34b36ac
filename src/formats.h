/*
 * String formats ({format="..."}): each check returns NULL when the string is
 * valid, else a short reason (Pydantic puts it in ctx).
 */
#ifndef MT_FORMATS_H
#define MT_FORMATS_H

#include <stddef.h>

const char *mt_format_uuid_error(const char *s);
const char *mt_format_date_error(const char *s);
const char *mt_format_date_time_error(const char *s);
const char *mt_format_email_error(const char *s);
const char *mt_format_uri_error(const char *s);
int mt_format_is_ipv4(const char *s, size_t len);
int mt_format_is_ipv6(const char *s, size_t len);

#endif
