/*
 * GRUB's test command ([ ... ] and test) over words already expanded,
 * for grubcfg.c, in three values: true, false, or not known (a value not
 * known, a file elsewhere than /boot/grub, an expression it does not
 * read).  What it reads: ! and ( ), -a over -o, -n and -z, a lone word,
 * = == != < <= > >=, -eq -ne -lt -le -gt -ge on decimal numbers, and -e
 * -f -d -s on /boot/grub and its files, from the listing the caller gave.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "provision/grubcfg_int.h"

static enum tri
tri_not(enum tri a)
{
	return a == T_UNKNOWN ? a : a == T_TRUE ? T_FALSE : T_TRUE;
}

/* /boot/grub and the files in it, from the listing the caller gave. */
static enum tri
file_test(const char *files, char op, const struct arg *a)
{
	const char	*path = a->s, *l, *nl, *name;
	size_t		 nlen, ll;

	if (!a->known || files == NULL)
		return T_UNKNOWN;
	if (*path == '(') {
		if ((path = strchr(path, ')')) == NULL)
			return T_UNKNOWN;
		path++;
	}
	if (strcmp(path, "/boot/grub") == 0 || strcmp(path, "/boot/grub/") == 0)
		return op == 'f' ? T_FALSE : T_TRUE;
	if (strncmp(path, "/boot/grub/", 11) != 0)
		return T_UNKNOWN;
	name = path + 11;
	nlen = strlen(name);
	if (nlen == 0 || strchr(name, '/') != NULL)
		return T_UNKNOWN;
	for (l = files; *l; l = *nl ? nl + 1 : nl) {
		const char *sp1, *sp2;

		if ((nl = strchr(l, '\n')) == NULL)
			nl = l + strlen(l);
		ll = (size_t)(nl - l);
		if (ll < 5 || (l[0] != 'f' && l[0] != 'd' && l[0] != 'l') ||
		    l[1] != ' ')
			continue;
		sp1 = l + 2;
		if ((sp2 = memchr(sp1, ' ', (size_t)(nl - sp1))) == NULL)
			continue;
		if ((size_t)(nl - (sp2 + 1)) != nlen ||
		    memcmp(sp2 + 1, name, nlen) != 0)
			continue;
		if (l[0] == 'l')
			return T_UNKNOWN;	/* a link: to what is not known */
		switch (op) {
		case 'e':
			return T_TRUE;
		case 'f':
			return l[0] == 'f' ? T_TRUE : T_FALSE;
		case 'd':
			return l[0] == 'd' ? T_TRUE : T_FALSE;
		default:	/* 's': not empty */
			if (l[0] == 'd')
				return T_TRUE;
			for (; sp1 < sp2; sp1++)
				if (*sp1 != '0')
					return T_TRUE;
			return T_FALSE;
		}
	}
	return T_FALSE;
}

struct tst {
	const char		*files;
	const struct arg	*a;
	size_t			 n, i;
	int			 bad;
};

static int
tst_is(struct tst *t, size_t i, const char *s)
{
	return i < t->n && t->a[i].known && strcmp(t->a[i].s, s) == 0;
}

static int
num(const char *s, long long *v)
{
	int	 neg = 0;

	*v = 0;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0' || strlen(s) > 15)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		*v = *v * 10 + (*s - '0');
	}
	if (neg)
		*v = -*v;
	return 1;
}

static enum tri tst_or(struct tst *);

static enum tri
tst_prim(struct tst *t)
{
	static const char *const unary[] = { "-n", "-z", "-e", "-f", "-d",
	    "-s", NULL };
	static const char *const binary[] = { "=", "==", "!=", "<", "<=", ">",
	    ">=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot",
	    "-pgt", "-plt", "-sgt", "-slt", NULL };
	const struct arg	*x, *y;
	const char		*op;
	enum tri		 r;
	long long		 a, b;
	int			 c;

	if (t->i >= t->n) {
		t->bad = 1;
		return T_UNKNOWN;
	}
	if (tst_is(t, t->i, "!")) {
		t->i++;
		return tri_not(tst_prim(t));
	}
	if (tst_is(t, t->i, "(")) {
		t->i++;
		r = tst_or(t);
		if (!tst_is(t, t->i, ")"))
			t->bad = 1;
		t->i++;
		return r;
	}
	if (t->i + 1 < t->n && t->a[t->i + 1].known &&
	    gp_in_list(binary, t->a[t->i + 1].s)) {
		x = &t->a[t->i];
		op = t->a[t->i + 1].s;
		y = &t->a[t->i + 2 < t->n ? t->i + 2 : t->i + 1];
		if (t->i + 2 >= t->n)
			t->bad = 1;
		t->i += 3;
		if (!x->known || !y->known)
			return T_UNKNOWN;
		if (op[0] != '-')
			c = strcmp(x->s, y->s);
		else if (strlen(op) == 3 &&
		    strstr("-eq -ne -lt -le -gt -ge", op) != NULL) {
			if (!num(x->s, &a) || !num(y->s, &b))
				return T_UNKNOWN;
			c = a < b ? -1 : a > b;
		} else
			return T_UNKNOWN;	/* file times, versions */
		if (strcmp(op, "=") == 0 || strcmp(op, "==") == 0 ||
		    strcmp(op, "-eq") == 0)
			return c == 0 ? T_TRUE : T_FALSE;
		if (strcmp(op, "!=") == 0 || strcmp(op, "-ne") == 0)
			return c != 0 ? T_TRUE : T_FALSE;
		if (strcmp(op, "<") == 0 || strcmp(op, "-lt") == 0)
			return c < 0 ? T_TRUE : T_FALSE;
		if (strcmp(op, "<=") == 0 || strcmp(op, "-le") == 0)
			return c <= 0 ? T_TRUE : T_FALSE;
		if (strcmp(op, ">") == 0 || strcmp(op, "-gt") == 0)
			return c > 0 ? T_TRUE : T_FALSE;
		return c >= 0 ? T_TRUE : T_FALSE;
	}
	if (t->a[t->i].known && gp_in_list(unary, t->a[t->i].s) &&
	    t->i + 1 < t->n) {
		op = t->a[t->i].s;
		x = &t->a[t->i + 1];
		t->i += 2;
		if (op[1] == 'n' || op[1] == 'z') {
			if (!x->known)
				return T_UNKNOWN;
			return (x->s[0] != '\0') == (op[1] == 'n') ? T_TRUE :
			    T_FALSE;
		}
		return file_test(t->files, op[1], x);
	}
	x = &t->a[t->i++];
	if (!x->known)
		return T_UNKNOWN;
	return x->s[0] != '\0' ? T_TRUE : T_FALSE;
}

static enum tri
tst_and(struct tst *t)
{
	enum tri	 r = tst_prim(t), q;

	while (!t->bad && tst_is(t, t->i, "-a")) {
		t->i++;
		q = tst_prim(t);
		r = r == T_FALSE || q == T_FALSE ? T_FALSE :
		    r == T_TRUE && q == T_TRUE ? T_TRUE : T_UNKNOWN;
	}
	return r;
}

static enum tri
tst_or(struct tst *t)
{
	enum tri	 r = tst_and(t), q;

	while (!t->bad && tst_is(t, t->i, "-o")) {
		t->i++;
		q = tst_and(t);
		r = r == T_TRUE || q == T_TRUE ? T_TRUE :
		    r == T_FALSE && q == T_FALSE ? T_FALSE : T_UNKNOWN;
	}
	return r;
}

enum tri
gp_test(const struct arg *a, size_t n, const char *files)
{
	struct tst	 t;
	enum tri	 r;

	if (n == 0)
		return T_FALSE;
	memset(&t, 0, sizeof(t));
	t.files = files;
	t.a = a;
	t.n = n;
	r = tst_or(&t);
	return t.bad || t.i != t.n ? T_UNKNOWN : r;
}
