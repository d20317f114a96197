/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The part of the kernel's seq_file the /proc walkers need: a bounded
 * buffer that records overflow instead of growing, padding to a column,
 * and the decimal/hex helpers task_mmu.c prints with.  No printf: these
 * run once per VMA line and per smaps field.
 */
#ifndef PROCVMA_SEQ_FILE_H
#define PROCVMA_SEQ_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct seq_file {
	char *buf;
	size_t size;		/* usable bytes: PAGE_SIZE, doubled as needed */
	size_t count;		/* bytes filled */
	size_t pad_until;	/* seq_setwidth()/seq_pad() column */
	bool overflow;
};

static inline void seq_write(struct seq_file *m, const char *s, size_t len)
{
	if (m->count + len > m->size) {
		m->overflow = true;
		m->count = m->size;
		return;
	}
	memcpy(m->buf + m->count, s, len);
	m->count += len;
}

static inline void seq_puts(struct seq_file *m, const char *s)
{
	seq_write(m, s, strlen(s));
}

static inline void seq_putc(struct seq_file *m, char c)
{
	seq_write(m, &c, 1);
}

static inline void seq_setwidth(struct seq_file *m, size_t size)
{
	m->pad_until = m->count + size;
}

/* Pad with spaces to the column set by seq_setwidth(), then put @c. */
static inline void seq_pad(struct seq_file *m, char c)
{
	static const char spaces[] = "                                                                        ";

	while (m->count < m->pad_until && !m->overflow) {
		size_t n = m->pad_until - m->count;

		seq_write(m, spaces, n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1);
	}
	if (c)
		seq_putc(m, c);
}

/*
 * @delim, then @v in @base (10 or 16, lower case), padded on the left with
 * @pad to at least @width characters.  Digits are produced from the right
 * into a buffer wide enough for any 64-bit value in base 10.
 */
static inline void seq_put_ull_base(struct seq_file *m, const char *delim,
				    unsigned long long v, unsigned int base,
				    unsigned int width, char pad)
{
	char tmp[24];
	unsigned int len = 0;

	if (delim)
		seq_puts(m, delim);
	do {
		tmp[sizeof(tmp) - 1 - len++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (len < width && len < sizeof(tmp))
		tmp[sizeof(tmp) - 1 - len++] = pad;
	seq_write(m, tmp + sizeof(tmp) - len, len);
}

/* @delim, then @v in lower-case hex, zero-padded to at least @width digits. */
static inline void seq_put_hex_ll(struct seq_file *m, const char *delim,
				  unsigned long long v, unsigned int width)
{
	seq_put_ull_base(m, delim, v, 16, width, '0');
}

/* @delim, then @v in decimal, right-aligned with spaces in @width columns. */
static inline void seq_put_decimal_ull_width(struct seq_file *m, const char *delim,
					     unsigned long long v, unsigned int width)
{
	seq_put_ull_base(m, delim, v, 10, width, ' ');
}

static inline void seq_put_decimal_ull(struct seq_file *m, const char *delim,
				       unsigned long long v)
{
	seq_put_decimal_ull_width(m, delim, v, 0);
}

#endif
