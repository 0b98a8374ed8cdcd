// The plugins are Linux programs (netlink, network namespaces, flock, Unix file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
