/* The dsrtp command's subcommands. Each takes argv after the subcommand name
 * (argv[0] is the subcommand itself) and returns the process exit status. */
#ifndef DSRTP_TOOL_CMD_H
#define DSRTP_TOOL_CMD_H

int dsrtp_cmd_demo(int argc, char **argv);
int dsrtp_cmd_peer(int argc, char **argv);
int dsrtp_cmd_bench(int argc, char **argv);
int dsrtp_cmd_pcap(int argc, char **argv);
int dsrtp_cmd_dtls(int argc, char **argv);
int dsrtp_cmd_cert(int argc, char **argv);
int dsrtp_cmd_bench_dtls(int argc, char **argv);
int dsrtp_cmd_sdp(int argc, char **argv);

#endif
