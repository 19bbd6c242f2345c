# build/castiron-writer: the static host-side writer (images/writer/main.c
# and only the images/ and lib/ files it needs: no iniparser, sqlite,
# curl).  Included by the Makefile.

WRITER_SRC := images/writer/main.c images/frame.c images/target.c \
	images/write.c images/parttable.c images/digest.c \
	lib/log.c lib/xmalloc.c
WRITER_OBJ := $(WRITER_SRC:%.c=$(BUILD)/writer/%.o)
# The sanitizer builds cannot link statically.
WRITER_STATIC := $(if $(findstring sanitize,$(LDFLAGS)),,-static)

all: $(BUILD)/castiron-writer

$(BUILD)/castiron-writer: $(WRITER_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $(WRITER_STATIC) -o $@ $^ -lcrypto -lpthread

$(BUILD)/writer/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(WRITER_OBJ:.o=.d)
