// Reads single keys in raw mode, as terminal games and line editors do: switches the terminal
// to raw mode (cfmakeraw), prints the code of each key as it arrives until `q`, then restores
// the terminal. Ctrl-C arrives as key 3 here, not as a signal. First it prints the window size
// (`TIOCGWINSZ`) and whether its process group owns the terminal (`tcgetpgrp`, and
// `tcsetpgrp` giving it to the group it already is).
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void) {
    struct termios saved, raw;
    if (tcgetattr(0, &saved) != 0) {
        perror("rawkeys: tcgetattr");
        return 1;
    }
    struct winsize ws;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0)
        printf("window: %ux%u\n", ws.ws_row, ws.ws_col);
    pid_t group = getpgrp();
    int owner = tcgetpgrp(0) == group;
    int set = tcsetpgrp(0, group) == 0 && tcgetpgrp(0) == group;
    printf("terminal: %s group, tcsetpgrp %s\n", owner ? "our" : "another", set ? "ok" : "failed");
    raw = saved;
    cfmakeraw(&raw);
    if (tcsetattr(0, TCSAFLUSH, &raw) != 0) {
        perror("rawkeys: tcsetattr");
        return 1;
    }
    struct termios now;
    tcgetattr(0, &now);
    printf("raw mode: icanon=%d echo=%d isig=%d opost=%d\r\n", !!(now.c_lflag & ICANON),
           !!(now.c_lflag & ECHO), !!(now.c_lflag & ISIG), !!(now.c_oflag & OPOST));
    fflush(stdout);
    unsigned char c;
    while (read(0, &c, 1) == 1) {
        printf("key %d\r\n", c);
        fflush(stdout);
        if (c == 'q')
            break;
    }
    tcsetattr(0, TCSANOW, &saved);
    tcgetattr(0, &now);
    printf("restored: icanon=%d echo=%d\n", !!(now.c_lflag & ICANON), !!(now.c_lflag & ECHO));
    return 0;
}
