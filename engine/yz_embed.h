/* yz_embed.h: files compiled into the engine (generated into build/yz_embed.c by the Makefile). */
#ifndef YZ_EMBED_H
#define YZ_EMBED_H

#include <stddef.h>

extern const char yz_embed_applicant_schema[];
extern const size_t yz_embed_applicant_schema_len;
extern const char yz_embed_policy_schema[];
extern const size_t yz_embed_policy_schema_len;
extern const char yz_embed_store_v1[];
extern const size_t yz_embed_store_v1_len;
extern const char yz_embed_store_sign[];
extern const size_t yz_embed_store_sign_len;

#endif
