using Twill.Firewall;
using Twill.Netlink;
using Twill.Os;

namespace Twill.Cni.Protocol;

/// <summary>How a plugin does its work inside the pod's network namespace.</summary>
public enum NamespaceEntry
{
    /// <summary>
    /// On a short-lived dedicated thread (NetNs.Run): safe anywhere, e.g. tests that run plugins on
    /// pool threads in parallel.
    /// </summary>
    DedicatedThread,

    /// <summary>
    /// The calling thread enters the namespace itself and comes back (<see cref="NetworkNamespaceScope"/>),
    /// saving a thread start and two hand-offs, each a scheduling delay on a busy node. Only for the
    /// plugin process: its main thread runs nothing else and no thread starts meanwhile.
    /// </summary>
    CallingThread,
}

/// <summary>
/// The seams a plugin reaches the OS through, passed in with every call (<see cref="CniInvocation.Context"/>)
/// rather than held in static fields, so tests run plugins in parallel with their own seams.
/// </summary>
public sealed class PluginContext
{
    /// <summary>For tests and in-process hosts: dedicated namespace threads, no in-process delegation, Process children.</summary>
    public static readonly PluginContext Default = new()
    {
        Firewall = () => new ProcessFirewallRunner(runner: SpawnProcessRunner.Instance),
        Plugins = _ => null,
        Processes = ManagedProcessRunner.Instance,
        NamespaceEntry = NamespaceEntry.DedicatedThread,
    };

    /// <summary>Runs the firewall tools (iptables-restore, conntrack, nft) for masquerade, portmap and spoof check.</summary>
    public required Func<IFirewallRunner> Firewall { get; init; }

    /// <summary>The plugins this binary holds, by type: a delegate found to be this very executable runs in-process.</summary>
    public required Func<string, ICniPlugin?> Plugins { get; init; }

    /// <summary>Runs a delegate plugin that is another executable.</summary>
    public required IProcessRunner Processes { get; init; }

    public required NamespaceEntry NamespaceEntry { get; init; }

    /// <summary>An rtnetlink connection whose socket lives in <paramref name="ns"/>.</summary>
    public RtnlConnection Rtnl(NetNs ns) =>
        NamespaceEntry == NamespaceEntry.CallingThread ? Run(ns, RtnlConnection.Open) : RtnlConnection.Open(ns);

    /// <summary>Runs <paramref name="action"/> inside <paramref name="ns"/>, as <see cref="NamespaceEntry"/> says.</summary>
    public void Run(NetNs ns, Action action) => Run(ns, () =>
    {
        action();
        return 0;
    });

    /// <inheritdoc cref="Run(NetNs, Action)"/>
    public T Run<T>(NetNs ns, Func<T> func)
    {
        if (NamespaceEntry != NamespaceEntry.CallingThread)
        {
            return ns.Run(func);
        }
        NetworkNamespaceScope scope;
        try
        {
            scope = NetworkNamespaceScope.Enter(ns.Handle);
        }
        catch (OsException e)
        {
            string what = e.Operation == "setns" ? $"setns({ns.Path})" : e.Operation;
            throw new CniException(CniErrorCode.Internal, $"{what} failed: {e.Reason}");
        }
        using (scope)
        {
            return func();
        }
    }
}
