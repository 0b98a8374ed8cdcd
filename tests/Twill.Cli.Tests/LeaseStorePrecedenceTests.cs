using System.CommandLine;
using Twill.Agent;
using Twill.Agent.Store;
using Twill.Leases.Etcd;

namespace Twill.Cli.Tests;

/// <summary>
/// The whole precedence matrix of the lease-store settings — command line × environment × defaults,
/// and every contradiction — run through both commands that open a store: <c>twill agent</c>
/// (Flannel-style flags, <see cref="AgentFlags"/>) and <c>twill leases list</c> (System.CommandLine,
/// <see cref="LeaseStoreOptionsBinding"/>). One table, so the two cannot drift apart.
/// </summary>
public class LeaseStorePrecedenceTests
{
    private const string Dir = LeaseStoreOptions.DefaultDirectory;
    private const string Ep = EtcdLeaseStoreOptions.DefaultEndpoint;
    private const string Prefix = EtcdLeaseStoreOptions.DefaultPrefix;
    private const string A = "http://192.0.2.1:2379";
    private const string B = "http://192.0.2.2:2379";

    /// <summary>A row: the command line, the environment ("NAME=value;..."), then the expected kind, directory, endpoints and prefix — or the error.</summary>
    public static TheoryData<string, string, string, string, string, string> Matrix => new()
    {
        // Defaults.
        { "", "", "file", Dir, Ep, Prefix },
        // --store-dir: command line > environment > default.
        { "--store-dir /a", "", "file", "/a", Ep, Prefix },
        { "", "TWILL_STORE_DIR=/e", "file", "/e", Ep, Prefix },
        { "--store-dir /a", "TWILL_STORE_DIR=/e", "file", "/a", Ep, Prefix },
        // --etcd-endpoints selects etcd, from either source; the command line wins over the environment.
        { $"--etcd-endpoints {A}", "", "etcd", Dir, A, Prefix },
        { "", $"TWILL_ETCD_ENDPOINTS={A}", "etcd", Dir, A, Prefix },
        { $"--etcd-endpoints {A}", $"TWILL_ETCD_ENDPOINTS={B}", "etcd", Dir, A, Prefix },
        { $"--etcd-endpoints {A},{B}", "", "etcd", Dir, $"{A},{B}", Prefix },
        // --store etcd alone: the default endpoint.
        { "--store etcd", "", "etcd", Dir, Ep, Prefix },
        { "", "TWILL_STORE=etcd", "etcd", Dir, Ep, Prefix },
        { "--store etcd", $"TWILL_ETCD_ENDPOINTS={A}", "etcd", Dir, A, Prefix },
        { "", $"TWILL_STORE=etcd;TWILL_ETCD_ENDPOINTS={A}", "etcd", Dir, A, Prefix },
        // --store: the command line wins over the environment.
        { "--store file", "TWILL_STORE=etcd", "file", Dir, Ep, Prefix },
        { "--store etcd", "TWILL_STORE=file", "etcd", Dir, Ep, Prefix },
        { "--store etcd", $"TWILL_STORE=file;TWILL_ETCD_ENDPOINTS={A}", "etcd", Dir, A, Prefix },
        { "--store file", "TWILL_STORE=etcd;TWILL_STORE_DIR=/e", "file", "/e", Ep, Prefix },
        // --etcd-prefix: command line > environment > default; it does not select etcd by itself.
        { "--etcd-prefix /p", "", "file", Dir, Ep, "/p" },
        { "--store etcd", "TWILL_ETCD_PREFIX=/q", "etcd", Dir, Ep, "/q" },
        { "--store etcd --etcd-prefix /p", "TWILL_ETCD_PREFIX=/q", "etcd", Dir, Ep, "/p" },
        // An empty environment variable counts as unset (as flanneld's).
        { "", "TWILL_ETCD_ENDPOINTS=", "file", Dir, Ep, Prefix },
        // Contradictions: --store file with --etcd-endpoints, either order, either source; both named.
        { $"--store file --etcd-endpoints {A}", "", "error", "--store file (command line) contradicts --etcd-endpoints (command line)", "", "" },
        { $"--etcd-endpoints {A} --store file", "", "error", "--store file (command line) contradicts --etcd-endpoints (command line)", "", "" },
        { "--store file", $"TWILL_ETCD_ENDPOINTS={A}", "error", "--store file (command line) contradicts TWILL_ETCD_ENDPOINTS (environment)", "", "" },
        { $"--etcd-endpoints {A}", "TWILL_STORE=file", "error", "TWILL_STORE=file (environment) contradicts --etcd-endpoints (command line)", "", "" },
        { "", $"TWILL_STORE=file;TWILL_ETCD_ENDPOINTS={A}", "error", "TWILL_STORE=file (environment) contradicts TWILL_ETCD_ENDPOINTS (environment)", "", "" },
        // --kube-subnet-mgr selects the Kubernetes store (Flannel's flag), from either source; it contradicts another store.
        { "--kube-subnet-mgr", "", "kube", Dir, Ep, Prefix },
        { "", "TWILL_KUBE_SUBNET_MGR=true", "kube", Dir, Ep, Prefix },
        { "--store kube", "", "kube", Dir, Ep, Prefix },
        { "--store file --kube-subnet-mgr", "", "error", "--store file (command line) contradicts --kube-subnet-mgr (command line)", "", "" },
        { "--kube-subnet-mgr", "TWILL_STORE=etcd", "error", "TWILL_STORE=etcd (environment) contradicts --kube-subnet-mgr (command line)", "", "" },
        { $"--etcd-endpoints {A} --kube-subnet-mgr", "", "error", "--etcd-endpoints (command line) contradicts --kube-subnet-mgr (command line)", "", "" },
        // A store that does not exist is named.
        { "--store bogus", "", "error", "'bogus' is not a store (file, etcd, kube)", "", "" },
        { "", "TWILL_STORE=bogus", "error", "'bogus' is not a store (file, etcd, kube)", "", "" },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Agent_StoreSettings_FollowTheMatrix(string args, string env, string kind, string dirOrError, string endpoints, string prefix) =>
        Check(() => AgentFlags.Parse(Args(args), Env(env)).LeaseStore, kind, dirOrError, endpoints, prefix);

    [Theory]
    [MemberData(nameof(Matrix))]
    public void LeasesList_StoreSettings_FollowTheMatrix(string args, string env, string kind, string dirOrError, string endpoints, string prefix) =>
        Check(() =>
        {
            LeaseStoreOptionsBinding binding = new();
            Command list = new("list");
            binding.AddTo(list);
            ParseResult parse = list.Parse(Args(args));
            Assert.Empty(parse.Errors);
            return binding.Resolve(parse, Env(env));
        }, kind, dirOrError, endpoints, prefix);

    [Fact]
    public void Agent_OtherFlags_KeepTheirPrecedenceBesideTheStoreFlags()
    {
        AgentOptions o = AgentFlags.Parse(["--store-dir", "/a", "--subnet-file", "/given"],
            Env($"TWILL_SUBNET_FILE=/x;TWILL_IFACE=eth9;TWILL_ETCD_PREFIX=/q"));

        Assert.Equal("/given", o.SubnetFile);
        Assert.Equal(["eth9"], o.Ifaces);
        Assert.Equal("/a", o.LeaseStore.Directory);
        Assert.Equal("/q", o.LeaseStore.Etcd.Prefix);
        Assert.Equal(StoreKind.File, o.LeaseStore.Kind);
    }

    [Fact]
    public void Flags_StoreFlagsDefinedOnce_BothCommandsOfferThemAll()
    {
        string[] store = [.. LeaseStoreFlags.Specs.Select(s => s.Name)];
        Command list = new("list");
        new LeaseStoreOptionsBinding().AddTo(list);

        Assert.Equal(["store", "store-dir", "etcd-endpoints", "etcd-prefix", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-username", "etcd-password",
            "kube-subnet-mgr", "kubeconfig-file", "kube-api-url", "kube-annotation-prefix", "set-node-network-unavailable"], store);
        Assert.Equal(store.Select(n => "--" + n), list.Options.Select(o => o.Name));
        foreach (string name in store)
        {
            Assert.Contains("--" + name + " ", AgentFlags.Help, StringComparison.Ordinal);
        }
    }

    private static void Check(Func<LeaseStoreOptions> resolve, string kind, string dirOrError, string endpoints, string prefix)
    {
        if (kind == "error")
        {
            FormatException e = Assert.Throws<FormatException>(resolve);
            Assert.Contains(dirOrError, e.Message, StringComparison.Ordinal);
            return;
        }
        LeaseStoreOptions o = resolve();
        Assert.Equal(kind, LeaseStoreKinds.For(o.Kind).Name);
        Assert.Equal(dirOrError, o.Directory);
        Assert.Equal(endpoints, string.Join(',', o.Etcd.Endpoints));
        Assert.Equal(prefix, o.Etcd.Prefix);
    }

    private static string[] Args(string args) => args.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static Dictionary<string, string> Env(string env) => env.Split(';', StringSplitOptions.RemoveEmptyEntries)
        .Select(kv => kv.Split('=', 2))
        .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
}
