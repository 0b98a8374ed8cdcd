namespace Twill.Os;

/// <summary>
/// The one way we run a command in another network namespace from outside it: util-linux
/// <c>nsenter --net=PATH -- COMMAND</c>. nsenter execs the command (no fork for a net namespace),
/// so the PID started is the command's own.
/// </summary>
public static class Nsenter
{
    public const string Tool = "nsenter";

    /// <summary>Where `ip netns` binds named namespaces.</summary>
    public const string NamedDirectory = "/var/run/netns";

    /// <summary><c>nsenter --net=NETNSPATH -- COMMAND...</c> as an argv (element 0 is nsenter).</summary>
    public static string[] Net(string netnsPath, IEnumerable<string> command) =>
        [Tool, "--net=" + netnsPath, "--", .. command];

    /// <summary><see cref="Net"/> for the namespace `ip netns` calls <paramref name="name"/>.</summary>
    public static string[] NetNamed(string name, IEnumerable<string> command) =>
        Net(NamedDirectory + "/" + name, command);
}
