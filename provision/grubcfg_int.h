/*
 * Inside provision/, for grubcfg.c alone: GRUB's script language read
 * into blocks (grubscript.c: the lexer, the parser and the arena that
 * holds what they make) and its test command (grubtest.c).  One struct
 * gp is one parse of one grub.cfg; every error is its first, with the
 * file and line.
 */
#ifndef CASTIRON_PROVISION_GRUBCFG_INT_H
#define CASTIRON_PROVISION_GRUBCFG_INT_H

#include <stddef.h>

#include "provision/grubcfg.h"

#define WORD_MAX	4096	/* bytes in one word */
#define SEGS_MAX	64	/* quoted and variable pieces of one word */
#define DEPTH_MAX	32	/* nested blocks; function calls */
#define STEPS_MAX	100000	/* commands run, all told */
#define ARGS_MAX	256	/* words of one command, expanded */

struct blk {
	struct blk	*next;
	size_t		 used, cap;
	max_align_t	 data[];
};

/* Lexed words: literal pieces and variable references. */
struct seg {
	const char	*s;
	size_t		 len;
	unsigned char	 var;		/* s is a variable's name */
	unsigned char	 quoted;	/* inside "" or '' */
};

struct word {
	struct seg	*seg;
	size_t		 nseg;
	int		 quoted;	/* any quoting or escape */
	int		 line;
};

enum { TK_WORD, TK_SEP, TK_LBRACE, TK_RBRACE, TK_EOF };

struct tok {
	int		 kind;
	int		 line;
	struct word	 w;
};

enum { N_CMD, N_IF, N_FUNC, N_ENTRY, N_SUBMENU };

struct node;
struct block {
	struct node	**n;
	size_t		  len;
};

struct branch {
	struct block	 cond;		/* empty for else */
	struct block	 body;
	int		 line;
	int		 is_else;
};

struct node {
	int		 kind;
	int		 line;
	struct word	*w;		/* CMD: its words; ENTRY, SUBMENU: the
					   header after the keyword; FUNC:
					   the name */
	size_t		 nw;
	struct block	 body;		/* FUNC, ENTRY, SUBMENU */
	struct branch	*br;		/* IF */
	size_t		 nbr;
};

struct func {
	const char	*name;
	const struct node *n;
	int		 cond;		/* defined on an undecided condition */
};

struct arg {
	const char	*s;
	int		 known;
};

struct envvar {
	const char	*name, *val;
};

struct gp {
	const struct grubcfg_in *in;
	struct err	*err;
	int		 failed;
	struct blk	*blk;
	struct tok	*t;
	size_t		 nt, pos;
	struct envvar	*env;
	size_t		 nenv;
	struct func	*fn;
	size_t		 nfn;
	unsigned long	 steps;
};

enum tri { T_FALSE, T_TRUE, T_UNKNOWN };

/* grubscript.c */
int	 gp_err(struct gp *, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	*gp_alloc(struct gp *, size_t);	/* zeroed; freed by gp_free */
char	*gp_strndup(struct gp *, const char *, size_t);
void	 gp_free(struct gp *);		/* the arena and the tokens */
int	 gp_in_list(const char *const *list, const char *);
int	 gp_is_blank(char);
/* A variable's name: [A-Za-z_][A-Za-z0-9_]*. */
int	 gp_name_ok(const char *, size_t);
/* The word as one literal, when it is one (a keyword, a name). */
const char *gp_word_lit(const struct word *);
/* The word as written, for messages ("${x}" for a variable). */
void	 gp_word_text(const struct word *, char *buf, size_t len);
/* Lexes and parses text into *root; 0, or -1 with the error set. */
int	 gp_parse(struct gp *, const char *text, size_t len, struct block *root);

/* grubtest.c: GRUB's test ([ ... ]) over expanded words, T_UNKNOWN when
 * a value it needs is not known or the expression is not one it reads;
 * files is grubcfg_in's listing of /boot/grub (NULL: not known). */
enum tri gp_test(const struct arg *, size_t n, const char *files);

#endif
