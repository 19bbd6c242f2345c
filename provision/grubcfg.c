/*
 * The default entry of a grub.cfg, found the way GRUB finds it, for
 * reboot = kexec: the evaluator over the blocks grubscript.c reads (its
 * test command is grubtest.c), which runs the top level as GRUB's normal
 * mode does, finds the default entry, and runs that entry's body.
 *
 * The evaluator knows what a variable holds when the file (or the
 * grubenv that load_env reads) set it, for GRUB's feature_* flags, and,
 * in file tests only, for prefix and config_directory (/boot/grub on the
 * root file system).  A condition it can decide picks its branch; one it
 * cannot (the firmware, a font, a file elsewhere) runs every branch and
 * keeps a variable only where all of them agree, and entries defined
 * there are marked as maybe absent.  The default entry must not depend on
 * anything undecided, and the chosen entry's linux and initrd lines must
 * be decided and use only known values: anything else is an error with
 * the file and line.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "provision/grubcfg_int.h"

struct var {
	const char	*name;
	const char	*val;		/* NULL: unset */
	int		 known;
	int		 pathonly;	/* known in file tests only */
	int		 exported;
	int		 line;		/* where it was set or became unknown */
	int		 from_env;	/* set by load_env */
};

struct vars {
	struct var	*v;
	size_t		 n;
};

struct item {
	const struct node *n;
	const char	*title;		/* NULL: not known */
	const char	*id;		/* NULL: none or not known */
	int		 id_unknown;
	int		 cond;		/* maybe absent */
	int		 cond_line;
};

struct menu {
	struct item	*it;
	size_t		 n, cap;
};

struct ev {
	struct gp	*p;
	struct vars	 vars;
	struct menu	*menu;		/* where menuentry adds; NULL in an
					   entry's body */
	int		 cond;		/* inside undecided branches */
	int		 cond_line;
	int		 depth;
	struct grub_boot *b;		/* running the chosen entry */
	int		 have_linux, have_initrd;
};

static const char *const features[] = {
	"feature_200_final", "feature_all_video_module",
	"feature_chainloader_bpb", "feature_default_font_path",
	"feature_menuentry_id", "feature_menuentry_options",
	"feature_nativedisk_cmd", "feature_ntldr",
	"feature_platform_search_hint", "feature_timeout_style", NULL
};
/* Set only by grubenv (grub-reboot, grub-set-default, recordfail), never
 * by GRUB itself: unset until load_env says otherwise. */
static const char *const env_only[] = {
	"next_entry", "saved_entry", "prev_saved_entry", "boot_once",
	"recordfail", NULL
};
/* Commands that would bring in entries or a default from elsewhere. */
static const char *const refused_cmds[] = {
	"source", ".", "configfile", "normal", "normal_exit", "blscfg",
	"extract_entries_source", "extract_entries_configfile",
	"extract_legacy_entries_source", "extract_legacy_entries_configfile",
	"legacy_source", "legacy_configfile", "eval", "setparams", "return",
	"break", "continue", "shift", "exit", NULL
};
/* Loaders other than linux: not what castiron can kexec. */
static const char *const other_loaders[] = {
	"linux16", "linuxefi", "initrd16", "initrdefi", "multiboot",
	"multiboot2", "module", "module2", "chainloader", "kfreebsd",
	"knetbsd", "kopenbsd", "xnu_kernel", "xnu_kernel64", "appleloader",
	"ntldr", "freedos", "truecrypt", "plan9", "legacy_kernel",
	"devicetree", NULL
};

/* ---- variables ------------------------------------------------------- */

static struct var *
var_find(struct vars *vs, const char *name)
{
	size_t	 i;

	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return &vs->v[i];
	return NULL;
}

static struct var *
var_set(struct ev *e, const char *name, const char *val, int known, int line)
{
	struct var	*v = var_find(&e->vars, name);

	if (v == NULL) {
		e->vars.v = xreallocarray(e->vars.v, e->vars.n + 1,
		    sizeof(*e->vars.v));
		v = &e->vars.v[e->vars.n++];
		memset(v, 0, sizeof(*v));
		v->name = name;
	}
	v->val = val;
	v->known = known;
	v->pathonly = 0;
	v->line = line;
	v->from_env = 0;
	return v;
}

static struct vars
vars_copy(const struct vars *vs)
{
	struct vars	 c;

	c.n = vs->n;
	c.v = xreallocarray(NULL, vs->n ? vs->n : 1, sizeof(*c.v));
	if (vs->n)
		memcpy(c.v, vs->v, vs->n * sizeof(*c.v));
	return c;
}

static int
var_same(const struct var *a, const struct var *b)
{
	if (!a->known || !b->known || a->pathonly != b->pathonly)
		return 0;
	if (a->val == NULL || b->val == NULL)
		return a->val == b->val;
	return strcmp(a->val, b->val) == 0;
}

/* What a name not in the table stands for: unset for the names only
 * grubenv sets, unknown for the rest (GRUB sets many itself). */
static void
var_absent(const char *name, struct var *v)
{
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->known = gp_in_list(env_only, name);
}

/*
 * After the branches of an undecided condition: each variable keeps its
 * value where every branch left the same one, and is unknown elsewhere.
 */
static struct vars
vars_merge(struct vars *rs, size_t n, int line)
{
	struct vars	 out = vars_copy(&rs[0]);
	struct var	*a, *b, absent;
	size_t		 i, k;

	for (k = 1; k < n; k++)
		for (i = 0; i < rs[k].n; i++)
			if (var_find(&out, rs[k].v[i].name) == NULL) {
				out.v = xreallocarray(out.v, out.n + 1,
				    sizeof(*out.v));
				var_absent(rs[k].v[i].name, &out.v[out.n++]);
			}
	for (i = 0; i < out.n; i++) {
		a = &out.v[i];
		for (k = 0; k < n; k++) {
			if ((b = var_find(&rs[k], a->name)) == NULL) {
				var_absent(a->name, &absent);
				b = &absent;
			}
			if (!var_same(a, b)) {
				a->known = 0;
				a->line = line;
				break;
			}
		}
	}
	return out;
}

/* A variable for expansion: 1 with *val (NULL when unset), 0 unknown. */
static int
var_get(struct ev *e, const char *name, int for_test, const char **val)
{
	struct var	*v = var_find(&e->vars, name), absent;

	if (v == NULL) {
		var_absent(name, &absent);
		v = &absent;
	}
	if (!v->known || (v->pathonly && !for_test))
		return 0;
	*val = v->val;
	return 1;
}

/* ---- expansion ------------------------------------------------------- */

struct argv {
	struct arg	 a[ARGS_MAX];
	size_t		 n;
	int		 split_unknown;	/* an unquoted unknown value: how many
					   words it makes is not known */
	int		 bad;		/* index of the first word with an
					   unknown value, -1 when none */
	const char	*bad_var;	/* its variable */
};

struct sbuf {
	char	*s;
	size_t	 len, cap;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static int
av_push(struct ev *e, struct argv *av, struct sbuf *cur, int known, int line)
{
	if (av->n == ARGS_MAX)
		return gp_err(e->p, line, "a command of more than %d words",
		    ARGS_MAX);
	av->a[av->n].s = gp_strndup(e->p, cur->s ? cur->s : "", cur->len);
	av->a[av->n].known = known;
	av->n++;
	cur->len = 0;
	if (cur->s)
		cur->s[0] = '\0';
	return 0;
}

/* One word into av: variables expanded, unquoted values split on blanks
 * (an unquoted empty value makes no word), as GRUB's script does. */
static int
expand_word(struct ev *e, const struct word *w, int wi, struct argv *av,
    int for_test)
{
	struct sbuf	 cur = { 0 };
	const char	*val, *v;
	size_t		 i;
	int		 known = 1, has = 0, rc = 0;

	for (i = 0; i < w->nseg; i++) {
		const struct seg *s = &w->seg[i];

		if (!s->var) {
			sb_put(&cur, s->s, s->len);
			if (s->len || s->quoted)
				has = 1;
			continue;
		}
		if (!var_get(e, s->s, for_test, &val)) {
			known = 0;
			has = 1;
			if (!s->quoted)
				av->split_unknown = 1;
			if (av->bad < 0) {
				av->bad = wi;
				av->bad_var = s->s;
			}
			continue;
		}
		if (val == NULL)
			val = "";
		if (s->quoted) {
			sb_put(&cur, val, strlen(val));
			has = 1;
			continue;
		}
		for (v = val; *v; v++) {
			if (gp_is_blank(*v) || *v == '\n') {
				if (has && (rc = av_push(e, av, &cur, known,
				    w->line)) == -1)
					goto out;
				has = 0;
				known = 1;
				continue;
			}
			sb_put(&cur, v, 1);
			has = 1;
		}
	}
	if (w->quoted)
		has = 1;
	if (has)
		rc = av_push(e, av, &cur, known, w->line);
out:
	free(cur.s);
	return rc;
}

static int
expand(struct ev *e, const struct word *w, size_t nw, struct argv *av,
    int for_test)
{
	size_t	 i;

	av->n = 0;
	av->split_unknown = 0;
	av->bad = -1;
	av->bad_var = NULL;
	for (i = 0; i < nw; i++)
		if (expand_word(e, &w[i], (int)i, av, for_test) == -1)
			return -1;
	return 0;
}

static struct func *
func_find(struct gp *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->nfn; i++)
		if (strcmp(p->fn[i].name, name) == 0)
			return &p->fn[i];
	return NULL;
}

/* The condition of an if: T, F, U, or -1 on an error. */
static int
eval_cond(struct ev *e, const struct block *b)
{
	struct argv	*av;
	const char	*c;
	int		 r = T_UNKNOWN;

	if (b->len != 1 || b->n[0]->kind != N_CMD)
		return T_UNKNOWN;
	av = xcalloc(1, sizeof(*av));
	if (expand(e, b->n[0]->w, b->n[0]->nw, av, 1) == -1) {
		free(av);
		return -1;
	}
	if (av->split_unknown || av->n == 0 || !av->a[0].known)
		goto out;
	c = av->a[0].s;
	if (func_find(e->p, c) != NULL) {
		free(av);
		return gp_err(e->p, b->n[0]->line, "%s: a function called as a "
		    "condition (castiron does not run functions there)", c);
	}
	if (strcmp(c, "true") == 0)
		r = T_TRUE;
	else if (strcmp(c, "false") == 0)
		r = T_FALSE;
	else if (strcmp(c, "[") == 0) {
		if (av->n >= 2 && av->a[av->n - 1].known &&
		    strcmp(av->a[av->n - 1].s, "]") == 0)
			r = gp_test(av->a + 1, av->n - 2, e->p->in->files);
	} else if (strcmp(c, "test") == 0)
		r = gp_test(av->a + 1, av->n - 1, e->p->in->files);
out:
	free(av);
	return r;
}

/* ---- running the script ---------------------------------------------- */

static int exec_block(struct ev *, const struct block *);

/*
 * NAME=VALUE in word w (set's argument, or a command of its own): the
 * name from the word's first literal piece, the value expanded.
 * 1 when it was an assignment, 0 when not, -1 on an error.
 */
static int
assign(struct ev *e, const struct word *w)
{
	const struct seg	*s0 = w->nseg ? &w->seg[0] : NULL;
	const char		*eq;
	struct argv		*av;
	char			*name;
	int			 known;

	if (s0 == NULL || s0->var || (eq = memchr(s0->s, '=', s0->len)) ==
	    NULL || !gp_name_ok(s0->s, (size_t)(eq - s0->s)))
		return 0;
	av = xcalloc(1, sizeof(*av));
	if (expand(e, w, 1, av, 0) == -1) {
		free(av);
		return -1;
	}
	name = gp_strndup(e->p, s0->s, (size_t)(eq - s0->s));
	known = !av->split_unknown && av->n == 1 && av->a[0].known;
	var_set(e, name, known ? av->a[0].s + (eq - s0->s) + 1 : NULL, known,
	    w->line);
	free(av);
	return 1;
}

static int
load_env(struct ev *e, const struct node *n, const struct argv *av)
{
	struct gp	*p = e->p;
	struct var	*v;
	size_t		 i, k;
	int		 names = 0;

	for (i = 1; i < av->n; i++) {
		if (!av->a[i].known)
			return gp_err(p, n->line, "load_env: an argument castiron "
			    "cannot know");
		if (strcmp(av->a[i].s, "-f") == 0 ||
		    strncmp(av->a[i].s, "--file", 6) == 0)
			return gp_err(p, n->line, "load_env -f: castiron reads "
			    "only the grubenv beside grub.cfg");
		if (av->a[i].s[0] != '-')
			names = 1;
	}
	if (p->in->env == NULL)
		return 0;	/* GRUB finds none either */
	for (k = 0; k < p->nenv; k++) {
		if (names) {
			for (i = 1; i < av->n; i++)
				if (strcmp(av->a[i].s, p->env[k].name) == 0)
					break;
			if (i == av->n)
				continue;
		}
		v = var_set(e, p->env[k].name, p->env[k].val, 1, n->line);
		v->from_env = 1;
	}
	return 0;
}

static int
check_path(struct ev *e, const struct node *n, const char *cmd, const char *path)
{
	const char	*c;

	if (path[0] == '(')
		return gp_err(e->p, n->line, "%s: %s: a path on a device GRUB "
		    "names; castiron reads the files of the root file system",
		    cmd, path);
	if (path[0] != '/')
		return gp_err(e->p, n->line, "%s: %s: not an absolute path", cmd,
		    path);
	if (strlen(path) >= GRUB_PATH_MAX)
		return gp_err(e->p, n->line, "%s: a path longer than %d bytes",
		    cmd, GRUB_PATH_MAX - 1);
	for (c = path; *c; c++)
		if (*c <= ' ' || *c > '~')
			return gp_err(e->p, n->line, "%s: a path with a blank or a "
			    "control character", cmd);
	if (strstr(path, "/../") != NULL || (strlen(path) >= 3 &&
	    strcmp(path + strlen(path) - 3, "/..") == 0))
		return gp_err(e->p, n->line, "%s: %s: a path with ..", cmd, path);
	return 0;
}

/* linux and initrd of the chosen entry. */
static int
loader(struct ev *e, const struct node *n, const struct argv *av,
    const char *cmd)
{
	struct grub_boot	*b = e->b;
	char			 w[128];
	size_t			 i, len;
	const char		*c;

	if (e->cond)
		return gp_err(e->p, n->line, "%s inside a condition castiron "
		    "cannot decide (line %d)", cmd, e->cond_line);
	if (av->bad >= 0) {
		gp_word_text(&n->w[av->bad], w, sizeof(w));
		return gp_err(e->p, n->line, "%s: %s: the value of %s is not known "
		    "to castiron here", cmd, w, av->bad_var);
	}
	if (cmd[0] == 'l') {
		if (e->have_linux)
			return gp_err(e->p, n->line, "a second linux command in the "
			    "entry (the first at line %d)", b->linux_line);
		if (av->n < 2)
			return gp_err(e->p, n->line, "linux without a kernel");
		if (check_path(e, n, cmd, av->a[1].s) == -1)
			return -1;
		snprintf(b->kernel, sizeof(b->kernel), "%s", av->a[1].s);
		len = (size_t)snprintf(b->cmdline, sizeof(b->cmdline),
		    "BOOT_IMAGE=%s", av->a[1].s);
		for (i = 2; i < av->n; i++) {
			for (c = av->a[i].s; *c; c++)
				if (*c <= ' ' || *c > '~' || *c == '"' ||
				    *c == '\'' || *c == '\\')
					return gp_err(e->p, n->line, "linux: "
					    "argument %zu holds a blank, a quote, "
					    "a backslash or a control character: "
					    "GRUB would quote it, castiron passes "
					    "none", i - 1);
			if (av->a[i].s[0] == '\0')
				continue;
			if (len + 1 + strlen(av->a[i].s) >= sizeof(b->cmdline))
				return gp_err(e->p, n->line, "linux: a command "
				    "line longer than %d bytes",
				    GRUB_CMDLINE_MAX - 1);
			b->cmdline[len++] = ' ';
			memcpy(b->cmdline + len, av->a[i].s,
			    strlen(av->a[i].s) + 1);
			len += strlen(av->a[i].s);
		}
		b->linux_line = n->line;
		e->have_linux = 1;
		return 0;
	}
	if (!e->have_linux)
		return gp_err(e->p, n->line, "initrd before linux (GRUB refuses "
		    "it too)");
	if (e->have_initrd)
		return gp_err(e->p, n->line, "a second initrd command in the entry "
		    "(the first at line %d)", b->initrd_line);
	if (av->n != 2)
		return gp_err(e->p, n->line, "initrd with %zu files: castiron "
		    "loads one", av->n - 1);
	if (check_path(e, n, cmd, av->a[1].s) == -1)
		return -1;
	snprintf(b->initrd, sizeof(b->initrd), "%s", av->a[1].s);
	b->initrd_line = n->line;
	e->have_initrd = 1;
	return 0;
}

static int
call(struct ev *e, const struct node *n, struct func *f,
    const struct argv *av)
{
	static const char *const pos[] = { "1", "2", "3", "4", "5", "6", "7",
	    "8", "9", NULL };
	struct var	 saved[9], *v;
	int		 had[9], rc, i;

	if (f->cond)
		return gp_err(e->p, n->line, "%s: a function defined on a "
		    "condition castiron cannot decide", f->name);
	if (e->depth >= DEPTH_MAX)
		return gp_err(e->p, n->line, "%s: functions calling each other "
		    "deeper than %d", f->name, DEPTH_MAX);
	for (i = 0; pos[i]; i++) {
		v = var_find(&e->vars, pos[i]);
		if ((had[i] = v != NULL))
			saved[i] = *v;
		var_set(e, pos[i], (size_t)i + 1 < av->n ? av->a[i + 1].s : NULL,
		    (size_t)i + 1 >= av->n || av->a[i + 1].known, n->line);
	}
	e->depth++;
	rc = exec_block(e, &f->n->body);
	e->depth--;
	for (i = 0; pos[i]; i++) {
		v = var_find(&e->vars, pos[i]);
		if (had[i])
			*v = saved[i];
		else
			var_set(e, pos[i], NULL, 0, n->line);
	}
	return rc;
}

static int
exec_cmd(struct ev *e, const struct node *n)
{
	struct gp	*p = e->p;
	struct argv	*av;
	struct func	*f;
	struct var	*v;
	const char	*c;
	size_t		 i;
	int		 rc = 0;

	if (n->nw == 1 && (rc = assign(e, &n->w[0])) != 0)
		return rc == 1 ? 0 : -1;
	av = xcalloc(1, sizeof(*av));
	if (expand(e, n->w, n->nw, av, 0) == -1)
		goto fail;
	if (av->n == 0)
		goto out;
	if (!av->a[0].known) {
		gp_err(p, n->line, "a command named by a variable castiron cannot "
		    "know");
		goto fail;
	}
	c = av->a[0].s;
	if (strcmp(c, "set") == 0) {
		for (i = 1; i < n->nw; i++)
			if (assign(e, &n->w[i]) == -1)
				goto fail;
	} else if (strcmp(c, "unset") == 0) {
		for (i = 1; i < av->n; i++)
			if (av->a[i].known)
				var_set(e, av->a[i].s, NULL, 1, n->line);
	} else if (strcmp(c, "export") == 0) {
		for (i = 1; i < av->n; i++) {
			if (!av->a[i].known)
				continue;
			if ((v = var_find(&e->vars, av->a[i].s)) == NULL) {
				v = var_set(e, av->a[i].s, NULL, 0, n->line);
				var_absent(v->name, v);
				v->line = n->line;
			}
			v->exported = 1;
		}
	} else if (strcmp(c, "load_env") == 0) {
		if (load_env(e, n, av) == -1)
			goto fail;
	} else if (gp_in_list(refused_cmds, c)) {
		gp_err(p, n->line, "%s: castiron does not follow it (another "
		    "file or a jump could change the entry GRUB boots)", c);
		goto fail;
	} else if (strcmp(c, "linux") == 0 || strcmp(c, "initrd") == 0) {
		if (e->b == NULL) {
			gp_err(p, n->line, "%s outside a menuentry", c);
			goto fail;
		}
		if (loader(e, n, av, c) == -1)
			goto fail;
	} else if (gp_in_list(other_loaders, c)) {
		gp_err(p, n->line, "%s: castiron kexecs a kernel that the linux "
		    "command loads, and nothing else", c);
		goto fail;
	} else if (strcmp(c, "boot") == 0 && e->b == NULL) {
		gp_err(p, n->line, "boot outside a menuentry");
		goto fail;
	} else if ((f = func_find(p, c)) != NULL) {
		if (call(e, n, f, av) == -1)
			goto fail;
	}
	/* Anything else (insmod, search, echo, terminal_output, ...) has no
	 * say in which entry boots or what it loads. */
out:
	free(av);
	return 0;
fail:
	free(av);
	return -1;
}

static void
menu_add(struct menu *m, const struct item *it)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->it = xreallocarray(m->it, m->cap, sizeof(*m->it));
	}
	m->it[m->n++] = *it;
}

/* A menuentry or submenu: its title and id, as GRUB reads its options. */
static int
exec_entry(struct ev *e, const struct node *n)
{
	static const char *const with_arg[] = { "--class", "--users",
	    "--hotkey", "--source", NULL };
	struct argv	*av;
	struct item	 it;
	const char	*s;
	size_t		 i;
	int		 titled = 0;

	if (e->menu == NULL)
		return gp_err(e->p, n->line, "a %s inside the chosen entry",
		    n->kind == N_ENTRY ? "menuentry" : "submenu");
	memset(&it, 0, sizeof(it));
	it.n = n;
	it.cond = e->cond > 0;
	it.cond_line = e->cond_line;
	av = xcalloc(1, sizeof(*av));
	if (expand(e, n->w, n->nw, av, 0) == -1) {
		free(av);
		return -1;
	}
	if (av->split_unknown) {
		/* How many words the header has is not known. */
		it.id_unknown = 1;
		menu_add(e->menu, &it);
		free(av);
		return 0;
	}
	for (i = 0; i < av->n; i++) {
		s = av->a[i].s;
		if (!av->a[i].known) {
			if (!titled)
				titled = 1;	/* title not known */
			else
				it.id_unknown = 1;
			continue;
		}
		if (gp_in_list(with_arg, s) || strcmp(s, "--id") == 0) {
			if (strcmp(s, "--id") == 0) {
				if (i + 1 < av->n && av->a[i + 1].known)
					it.id = av->a[i + 1].s;
				else
					it.id_unknown = 1;
			}
			i++;
		} else if (strncmp(s, "--id=", 5) == 0)
			it.id = s + 5;
		else if (strncmp(s, "--", 2) == 0 && s[2] != '\0') {
			if (strchr(s, '=') == NULL &&
			    strcmp(s, "--unrestricted") != 0) {
				free(av);
				return gp_err(e->p, n->line, "%s: an option "
				    "castiron does not know (GRUB would refuse "
				    "the entry)", s);
			}
		} else if (!titled) {
			it.title = s;
			titled = 1;
		}
	}
	free(av);
	if (!titled)
		return gp_err(e->p, n->line, "%s without a title",
		    n->kind == N_ENTRY ? "menuentry" : "submenu");
	menu_add(e->menu, &it);
	return 0;
}

/*
 * An if: a decided condition runs its branch; undecided ones run every
 * branch that may be taken, each from the same variables, and keep what
 * they agree on.
 */
static int
exec_if(struct ev *e, const struct node *n)
{
	const struct block	*may[65];
	struct vars		 base, res[65];
	size_t			 i, nmay = 0, k;
	int			 c, decided = 0, rc = 0, saved_line;

	for (i = 0; i < n->nbr && !decided; i++) {
		if (n->br[i].is_else) {
			may[nmay++] = &n->br[i].body;
			decided = 1;
			break;
		}
		if ((c = eval_cond(e, &n->br[i].cond)) == -1)
			return -1;
		if (c == T_FALSE)
			continue;
		may[nmay++] = &n->br[i].body;
		if (c == T_TRUE)
			decided = 1;
	}
	if (!decided)
		may[nmay++] = NULL;	/* none taken */
	if (nmay == 1)
		return may[0] ? exec_block(e, may[0]) : 0;
	memset(res, 0, sizeof(res));
	base = e->vars;
	saved_line = e->cond_line;
	if (e->cond == 0)
		e->cond_line = n->line;
	e->cond++;
	for (k = 0; k < nmay; k++) {
		e->vars = vars_copy(&base);
		if (rc == 0 && may[k] != NULL)
			rc = exec_block(e, may[k]);
		res[k] = e->vars;
	}
	e->cond--;
	e->cond_line = saved_line;
	e->vars = rc == 0 ? vars_merge(res, nmay, n->line) : vars_copy(&base);
	for (k = 0; k < nmay; k++)
		free(res[k].v);
	free(base.v);
	return rc;
}

static int
exec_node(struct ev *e, const struct node *n)
{
	struct func	*f;

	if (++e->p->steps > STEPS_MAX)
		return gp_err(e->p, n->line, "more than %d commands run: "
		    "castiron gives up", STEPS_MAX);
	switch (n->kind) {
	case N_CMD:
		return exec_cmd(e, n);
	case N_IF:
		return exec_if(e, n);
	case N_FUNC:
		if ((f = func_find(e->p, gp_word_lit(&n->w[0]))) == NULL) {
			e->p->fn = xreallocarray(e->p->fn, e->p->nfn + 1,
			    sizeof(*e->p->fn));
			f = &e->p->fn[e->p->nfn++];
		}
		f->name = gp_word_lit(&n->w[0]);
		f->n = n;
		f->cond = e->cond > 0;
		return 0;
	default:
		return exec_entry(e, n);
	}
}

static int
exec_block(struct ev *e, const struct block *b)
{
	size_t	 i;

	for (i = 0; i < b->len; i++)
		if (exec_node(e, b->n[i]) == -1)
			return -1;
	return 0;
}

/* ---- the default entry ----------------------------------------------- */

/* What an entry or submenu sees: exported variables only (GRUB opens a
 * new context); the others are not known there. */
static struct vars
entry_vars(const struct vars *top)
{
	struct vars	 v = vars_copy(top);
	size_t		 i;

	for (i = 0; i < v.n; i++)
		if (!v.v[i].exported)
			v.v[i].known = 0;
	return v;
}

static int
find_item(struct ev *e, const struct menu *m, const char *comp, int line,
    const char *def)
{
	const struct item	*it;
	uint64_t		 idx = 0;
	size_t			 i;
	const char		*c;

	for (c = comp; *c >= '0' && *c <= '9'; c++)
		;
	if (*comp && *c == '\0' && strlen(comp) <= 9) {
		for (c = comp; *c; c++)
			idx = idx * 10 + (uint64_t)(*c - '0');
		if (idx >= m->n)
			return gp_err(e->p, line, "default %s: entry %s, but the "
			    "menu has %zu", def, comp, m->n);
		for (i = 0; i <= idx; i++)
			if (m->it[i].cond)
				return gp_err(e->p, m->it[i].n->line, "this entry "
				    "exists only on the condition of line %d, "
				    "so castiron cannot count to entry %s",
				    m->it[i].cond_line, comp);
		return (int)idx;
	}
	for (i = 0; i < m->n; i++) {
		it = &m->it[i];
		if ((it->title && strcmp(it->title, comp) == 0) ||
		    (it->id && strcmp(it->id, comp) == 0)) {
			if (it->cond)
				return gp_err(e->p, it->n->line, "the default %s "
				    "exists only on the condition of line %d",
				    comp, it->cond_line);
			return (int)i;
		}
		if (it->title == NULL || it->id_unknown)
			return gp_err(e->p, it->n->line, "an entry whose title or "
			    "id castiron cannot know stands before the default "
			    "%s", comp);
	}
	return gp_err(e->p, line, "default %s: no menuentry or submenu has the "
	    "title or id %s", def, comp);
}

static int
choose(struct ev *e, struct menu *top, struct grub_boot *b)
{
	struct gp	*p = e->p;
	struct var	*v = var_find(&e->vars, "default");
	struct menu	*m = top, sub[DEPTH_MAX];
	struct ev	 x;
	const char	*def, *comp, *gt;
	char		 part[256];
	size_t		 nsub = 0, i;
	int		 line = v ? v->line : 0, idx, rc = -1;
	const struct item *it;

	if (v && !v->known)
		return gp_err(p, v->line, "the default entry depends on what "
		    "castiron cannot know here");
	def = v && v->val && *v->val ? v->val : "0";
	if (v && def == v->val && v->from_env)
		snprintf(b->how, sizeof(b->how), "default=%.200s (grubenv, "
		    "loaded at line %d)", def, line);
	else if (v && v->val && *v->val)
		snprintf(b->how, sizeof(b->how), "default=%.200s (line %d)",
		    def, line);
	else
		snprintf(b->how, sizeof(b->how), "the first entry (no default "
		    "set)");
	if (top->n == 0)
		return gp_err(p, 0, "no menuentry");
	memset(sub, 0, sizeof(sub));
	for (comp = def;; comp = gt + 1) {
		gt = strchr(comp, '>');
		snprintf(part, sizeof(part), "%.*s", gt ? (int)(gt - comp) :
		    (int)strlen(comp), comp);
		if ((idx = find_item(e, m, part, line, def)) == -1)
			goto out;
		it = &m->it[idx];
		if (b->entry[0])
			strncat(b->entry, ">", sizeof(b->entry) -
			    strlen(b->entry) - 1);
		strncat(b->entry, it->title ? it->title : "?",
		    sizeof(b->entry) - strlen(b->entry) - 1);
		if (gt == NULL)
			break;
		if (it->n->kind != N_SUBMENU) {
			gp_err(p, line, "default %s: %s is a menuentry, not a "
			    "submenu", def, part);
			goto out;
		}
		if (nsub == DEPTH_MAX) {
			gp_err(p, line, "default %s: submenus deeper than %d", def,
			    DEPTH_MAX);
			goto out;
		}
		memset(&x, 0, sizeof(x));
		x.p = p;
		x.vars = entry_vars(&e->vars);
		x.menu = &sub[nsub++];
		rc = exec_block(&x, &it->n->body);
		free(x.vars.v);
		if (rc == -1)
			goto out;
		rc = -1;
		if (x.menu->n == 0) {
			gp_err(p, it->n->line, "submenu %s has no entries", part);
			goto out;
		}
		m = x.menu;
	}
	if (it->n->kind != N_ENTRY) {
		gp_err(p, it->n->line, "the default %s is a submenu, not an entry",
		    def);
		goto out;
	}
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.vars = entry_vars(&e->vars);
	x.b = b;
	var_set(&x, "chosen", it->title, it->title != NULL, it->n->line)->
	    exported = 1;
	rc = exec_block(&x, &it->n->body);
	free(x.vars.v);
	if (rc == 0 && !x.have_linux)
		rc = gp_err(p, it->n->line, "the default entry %s loads no kernel "
		    "with linux", b->entry);
	b->entry_line = it->n->line;
out:
	for (i = 0; i < nsub; i++)
		free(sub[i].it);
	return rc;
}

/* ---- grubenv ----------------------------------------------------------- */

/* GRUB's environment block: a header line, NAME=VALUE lines (\\ and \n
 * escaped), '#' padding to its size. */
/* An error in the grubenv beside grub.cfg, named as such. */
static int
env_err(struct gp *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
env_err(struct gp *p, const char *fmt, ...)
{
	const char	*slash = strrchr(p->in->name, '/');
	char		 msg[ERR_MSGLEN];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->failed = 1;
	err_set(p->err, ERR_INVAL, "%.*sgrubenv: %s", slash ? (int)(slash -
	    p->in->name + 1) : 0, p->in->name, msg);
	return -1;
}

static int
env_parse(struct gp *p)
{
	static const char	 hdr[] = "# GRUB Environment Block\n";
	const char		*s = p->in->env, *end = s + p->in->envlen;
	const char		*nl, *eq, *c;
	char			*val;
	size_t			 n;

	if (p->in->envlen > GRUBENV_MAX)
		return env_err(p, "larger than %d bytes", GRUBENV_MAX);
	if (p->in->envlen < sizeof(hdr) - 1 || memcmp(s, hdr, sizeof(hdr) - 1))
		return env_err(p, "not a GRUB environment block (its first "
		    "line is not '# GRUB Environment Block')");
	for (s += sizeof(hdr) - 1; s < end && *s != '#'; s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		if ((eq = memchr(s, '=', (size_t)(nl - s))) == NULL ||
		    !gp_name_ok(s, (size_t)(eq - s)))
			return env_err(p, "a line that is not NAME=VALUE");
		val = gp_alloc(p, (size_t)(nl - eq));
		for (c = eq + 1, n = 0; c < nl; c++) {
			if (*c == '\\' && c + 1 < nl) {
				c++;
				val[n++] = *c == 'n' ? '\n' : *c;
			} else
				val[n++] = *c;
		}
		p->env = xreallocarray(p->env, p->nenv + 1, sizeof(*p->env));
		p->env[p->nenv].name = gp_strndup(p, s, (size_t)(eq - s));
		p->env[p->nenv].val = val;
		p->nenv++;
		if (nl == end)
			break;
	}
	return 0;
}

enum err_code
grubcfg_parse(const struct grubcfg_in *in, struct grub_boot *b,
    struct err *err)
{
	struct gp	 p;
	struct ev	 e;
	struct menu	 top = { 0 };
	struct block	 root;
	struct var	*v;
	size_t		 i;
	int		 rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&e, 0, sizeof(e));
	memset(b, 0, sizeof(*b));
	p.in = in;
	p.err = err;
	if (in->cfglen > GRUBCFG_MAX) {
		gp_err(&p, 0, "larger than %d bytes", GRUBCFG_MAX);
		goto out;
	}
	if ((in->env && env_parse(&p) == -1) ||
	    gp_parse(&p, in->cfg, in->cfglen, &root) == -1)
		goto out;
	e.p = &p;
	e.menu = &top;
	for (i = 0; features[i]; i++)
		var_set(&e, features[i], "y", 1, 0)->exported = 1;
	v = var_set(&e, "prefix", "/boot/grub", 1, 0);
	v->pathonly = v->exported = 1;
	v = var_set(&e, "config_directory", "/boot/grub", 1, 0);
	v->pathonly = v->exported = 1;
	if (exec_block(&e, &root) == -1 || choose(&e, &top, b) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1 && !p.failed)
		gp_err(&p, 0, "cannot be read");
	free(top.it);
	free(e.vars.v);
	free(p.env);
	free(p.fn);
	gp_free(&p);
	if (rc == -1)
		memset(b, 0, sizeof(*b));
	return rc == 0 ? ERR_OK : ERR_INVAL;
}
