// A shared library named like NCCL's network plugin (libnccl-net-fake.so) carrying the banner
// aws-ofi-nccl logs, for the test of the plugin facts the reports record. Test code only.
extern "C" __attribute__((visibility("default"), used)) const char preflight_fake_plugin_banner[] =
    "NET/OFI Initializing aws-ofi-nccl 1.16.2-fake";
