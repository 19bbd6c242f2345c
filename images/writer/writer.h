/*
 * castiron-writer's modes besides writing an image (images/writer/):
 * each is a function of its own file, called from main.c's dispatch.
 */
#ifndef CASTIRON_IMAGES_WRITER_H
#define CASTIRON_IMAGES_WRITER_H

/* castiron-writer --kexec ... (kexec.c); argv[0] is the mode's first
 * word.  Returns the exit status. */
int	writer_kexec(int argc, char **argv);

#endif
