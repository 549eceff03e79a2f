/* libFuzzer target for anynsd's configuration: any bytes as the YAML file,
 * read as `anynsd -c FILE` reads it (the YAML tree, the option tables, the
 * keys, remotes and zones, dconf_finish()). The result is a configuration
 * or an error naming where; ASan and LeakSanitizer check that neither path
 * crashes or leaks. Run with `make fuzz` (bounded by FUZZ_TIME seconds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static char g_path[] = "/tmp/anyns-fuzz-conf.XXXXXX";
static int g_fd = -1;

static void remove_file(void)
{
	unlink(g_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_fd = mkstemp(g_path);
	if (g_fd < 0) {
		perror("mkstemp");
		abort();
	}
	atexit(remove_file);
	/* Doubtful but legal values are warned about: not of interest here. */
	log_set_level(LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(g_fd, 0) != 0 || pwrite(g_fd, data, size, 0) != (ssize_t)size)
		abort();
	dconf_t c;
	char err[512];
	err[0] = '\0';
	dconf_init(&c);
	int ret = dconf_load_file(&c, g_path, err, sizeof(err));
	if (ret == 0)
		ret = dconf_finish(&c, err, sizeof(err));
	/* A refusal always says why. */
	if (ret != 0 && err[0] == '\0')
		abort();
	dconf_clear(&c);
	return 0;
}
