# build/castiron-writer: the static host-side writer (images/writer/main.c,
# its pull mode in pull.c and its kexec mode in kexec.c, and only the
# images/ and lib/ files it needs: no iniparser, sqlite, curl).  Included
# by the Makefile.

WRITER_SRC := images/writer/main.c images/writer/pull.c images/writer/kexec.c \
	images/writer/join.c \
	images/frame.c images/target.c \
	images/write.c images/parttable.c images/digest.c images/source.c \
	images/walk.c images/bmap.c lib/clock.c lib/err.c lib/file.c lib/log.c \
	lib/parse.c lib/xmalloc.c
# libzstd.a and zlib's libz.a: a packed stream is decompressed on the host.
WRITER_LIBS := -lzstd -lz -lcrypto -lpthread
WRITER_OBJ := $(WRITER_SRC:%.c=$(BUILD)/writer/%.o)
# The sanitizer builds cannot link statically; they also build an
# uninstrumented static copy, castiron-writer-static, for the tests that
# run the writer as a deploy environment would (busybox, no libraries).
# In a plain build that copy is the writer itself.
WRITER_STATIC := $(if $(findstring sanitize,$(LDFLAGS)),,-static)

all: $(BUILD)/castiron-writer $(BUILD)/castiron-writer-static

ifeq ($(WRITER_STATIC),)
WRITER_PLAIN_OBJ := $(WRITER_SRC:%.c=$(BUILD)/writer-static/%.o)
$(BUILD)/castiron-writer-static: $(WRITER_PLAIN_OBJ)
	$(CC) -O2 -g -static -o $@ $^ $(WRITER_LIBS)
$(BUILD)/writer-static/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -O2 -g -std=c11 -MMD -MP -c -o $@ $<
-include $(WRITER_PLAIN_OBJ:.o=.d)
else
$(BUILD)/castiron-writer-static: $(BUILD)/castiron-writer
	ln -f $< $@
endif

$(BUILD)/castiron-writer: $(WRITER_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(WRITER_STATIC) -o $@ $^ $(WRITER_LIBS)

$(BUILD)/writer/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(WRITER_OBJ:.o=.d)
