using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Twill.Testing;

/// <summary>
/// A real etcd (Debian's /usr/bin/etcd) for one test: one member or a cluster of several, on
/// 127.0.0.1 with free ports and a throw-away data directory (see <see cref="DataRoot"/>). Members can be stopped
/// (killed by PID) and started again on the same ports and data. Dispose kills every member and
/// deletes the directory; a process-exit hook and a sweep of orphans from dead test runs make sure no
/// etcd outlives the tests that started it.
/// </summary>
public sealed class EtcdServer : IDisposable
{
    public const string EtcdPath = "/usr/bin/etcd";
    public const string EtcdctlPath = "/usr/bin/etcdctl";

    /// <summary>Every data directory we create starts with this, followed by our PID, so orphans can be told apart.</summary>
    private const string DirPrefix = "twill-etcd-";

    private static readonly List<EtcdMember> s_live = [];
    private static int s_counter;

    static EtcdServer()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        SweepOrphans();
    }

    private readonly EtcdMember[] _members;
    private bool _disposed;

    private EtcdServer(string directory, EtcdMember[] members, EtcdTlsFiles? tls)
    {
        Directory = directory;
        _members = members;
        Tls = tls;
    }

    /// <summary>
    /// Where data directories go: /dev/shm (tmpfs) when there is one, so etcd's fsyncs cost nothing and
    /// tests and benchmarks measure etcd's protocol and ours rather than a shared disk; else the temp dir.
    /// </summary>
    public static string DataRoot { get; } = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    public static bool IsInstalled => File.Exists(EtcdPath) && File.Exists(EtcdctlPath);

    /// <summary>The cluster's temporary directory: member data dirs, logs, certificates.</summary>
    public string Directory { get; }

    public EtcdTlsFiles? Tls { get; }

    public IReadOnlyList<EtcdMember> Members => _members;

    public IReadOnlyList<string> ClientUrls => [.. _members.Select(m => m.ClientUrl)];

    /// <summary>Starts <paramref name="members"/> members and waits until every one answers a health check.</summary>
    /// <param name="tls">When true, client URLs are https with a fresh CA, server and client certificates, and client-cert auth.</param>
    public static EtcdServer Start(int members = 1, bool tls = false)
    {
        if (!IsInstalled)
        {
            throw new InvalidOperationException($"{EtcdPath} is not installed (Debian packages etcd-server etcd-client; build/install-deps.sh installs them)");
        }
        string dir = Path.Combine(DataRoot, $"{DirPrefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}-{Guid.NewGuid().ToString("N")[..6]}");
        System.IO.Directory.CreateDirectory(dir);
        EtcdServer? server = null;
        try
        {
            EtcdTlsFiles? files = tls ? EtcdTlsFiles.Create(Path.Combine(dir, "tls")) : null;
            int[] ports = LoopbackPorts.Free(members * 2);
            string scheme = tls ? "https" : "http";
            string token = Path.GetFileName(dir);
            var layout = Enumerable.Range(0, members)
                .Select(i => (Name: $"m{i}", Client: $"{scheme}://127.0.0.1:{ports[2 * i]}", Peer: $"http://127.0.0.1:{ports[(2 * i) + 1]}"))
                .ToArray();
            string initialCluster = string.Join(',', layout.Select(m => $"{m.Name}={m.Peer}"));
            EtcdMember[] all = [.. layout.Select(m => new EtcdMember(m.Name, m.Client, m.Peer, Path.Combine(dir, m.Name), initialCluster, token, files))];
            server = new EtcdServer(dir, all, files);
            foreach (EtcdMember m in all)
            {
                m.Start();
            }
            server.WaitHealthy(all);
            return server;
        }
        catch
        {
            if (server is not null)
            {
                server.Dispose();
            }
            else
            {
                TryDelete(dir);
            }
            throw;
        }
    }

    /// <summary>Kills member <paramref name="index"/> (SIGKILL, as a crash or power loss would).</summary>
    public void StopMember(int index) => _members[index].Stop();

    /// <summary>Starts a stopped member again on its ports and data directory, and waits until it is healthy.</summary>
    public void RestartMember(int index)
    {
        _members[index].Start();
        WaitHealthy([_members[index]]);
    }

    /// <summary>Runs etcdctl (API v3) against the running members; throws with its stderr when it fails.</summary>
    public string Etcdctl(params string[] args) => EtcdctlRun(args).EnsureSuccess("etcdctl " + string.Join(' ', args)).Stdout;

    /// <summary>Runs etcdctl (API v3) against the running members and returns whatever happened.</summary>
    public Tool.Result EtcdctlRun(params string[] args) =>
        RunEtcdctl(string.Join(',', _members.Where(m => m.IsRunning).Select(m => m.ClientUrl)), args);

    /// <summary>The store's current revision.</summary>
    public long Revision()
    {
        using JsonDocument doc = JsonDocument.Parse(Etcdctl("get", "/", "--prefix", "--keys-only", "--limit=1", "-w", "json"));
        return doc.RootElement.GetProperty("header").GetProperty("revision").GetInt64();
    }

    /// <summary>Compacts the history up to the current revision (what etcd's auto-compaction does) and returns that revision.</summary>
    public long Compact()
    {
        long revision = Revision();
        Etcdctl("compaction", "--physical", revision.ToString(CultureInfo.InvariantCulture));
        return revision;
    }

    private Tool.Result RunEtcdctl(string endpoints, string[] args)
    {
        List<string> all = ["--endpoints=" + endpoints, "--dial-timeout=3s", "--command-timeout=10s"];
        if (Tls is not null)
        {
            all.AddRange(["--cacert=" + Tls.CaFile, "--cert=" + Tls.ClientCertFile, "--key=" + Tls.ClientKeyFile]);
        }
        all.AddRange(args);
        return Tool.Run(EtcdctlPath, all, stdin: null, TimeSpan.FromSeconds(30));
    }

    private void WaitHealthy(IEnumerable<EtcdMember> members)
    {
        foreach (EtcdMember m in members)
        {
            Stopwatch clock = Stopwatch.StartNew();
            while (true)
            {
                if (!m.IsRunning)
                {
                    throw new InvalidOperationException($"etcd member {m.Name} ({m.ClientUrl}) exited during start: {m.LogTail()}");
                }
                Tool.Result health = RunEtcdctl(m.ClientUrl, ["endpoint", "health"]);
                if (health.ExitCode == 0)
                {
                    break;
                }
                if (clock.Elapsed > TimeSpan.FromSeconds(30))
                {
                    throw new TimeoutException($"etcd member {m.Name} ({m.ClientUrl}) not healthy after 30 s: {health.Stderr.Trim()} {m.LogTail()}");
                }
                Thread.Sleep(100);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (EtcdMember m in _members)
        {
            m.Stop();
        }
        TryDelete(Directory);
    }

    internal static void Track(EtcdMember member, bool live)
    {
        lock (s_live)
        {
            if (live)
            {
                s_live.Add(member);
            }
            else
            {
                s_live.Remove(member);
            }
        }
    }

    private static void KillAll()
    {
        EtcdMember[] members;
        lock (s_live)
        {
            members = [.. s_live];
        }
        foreach (EtcdMember m in members)
        {
            m.Stop();
        }
    }

    /// <summary>
    /// Kills etcd processes left by test runs that died without cleaning up: their data directory
    /// names a test process that no longer exists. Nothing else is touched.
    /// </summary>
    private static void SweepOrphans()
    {
        string marker = Path.Combine(DataRoot, DirPrefix);
        foreach (string procDir in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(procDir), out int pid))
            {
                continue;
            }
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(procDir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (argv.Length == 0 || argv[0] != EtcdPath)
            {
                continue;
            }
            string? dataDir = argv.FirstOrDefault(a => a.StartsWith("--data-dir=" + marker, StringComparison.Ordinal));
            if (dataDir is null)
            {
                continue;
            }
            string owner = dataDir[("--data-dir=" + marker).Length..].Split('-')[0];
            if (int.TryParse(owner, out int ownerPid) && !System.IO.Directory.Exists($"/proc/{ownerPid}"))
            {
                try
                {
                    using Process orphan = Process.GetProcessById(pid);
                    orphan.Kill();
                    orphan.WaitForExit(5000);
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
                catch (InvalidOperationException)
                {
                }
                string root = Path.GetDirectoryName(dataDir["--data-dir=".Length..]) ?? "";
                TryDelete(root);
            }
        }
    }

    internal static void TryDelete(string dir)
    {
        try
        {
            if (System.IO.Directory.Exists(dir) && dir.StartsWith(Path.Combine(DataRoot, DirPrefix), StringComparison.Ordinal))
            {
                System.IO.Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One etcd member process: its URLs, data directory and log.</summary>
public sealed class EtcdMember
{
    private readonly string _initialCluster;
    private readonly string _clusterToken;
    private readonly EtcdTlsFiles? _tls;
    private readonly ProcessLog _log = new();
    private readonly Lock _gate = new();
    private Process? _process;
    private bool _initialized;

    internal EtcdMember(string name, string clientUrl, string peerUrl, string dataDir, string initialCluster, string clusterToken, EtcdTlsFiles? tls)
    {
        Name = name;
        ClientUrl = clientUrl;
        PeerUrl = peerUrl;
        DataDir = dataDir;
        _initialCluster = initialCluster;
        _clusterToken = clusterToken;
        _tls = tls;
    }

    public string Name { get; }

    public string ClientUrl { get; }

    public string PeerUrl { get; }

    public string DataDir { get; }

    public int? Pid { get { lock (_gate) { return _process?.Id; } } }

    public bool IsRunning { get { lock (_gate) { return _process is { HasExited: false }; } } }

    internal void Start()
    {
        lock (_gate)
        {
            if (_process is { HasExited: false })
            {
                throw new InvalidOperationException($"etcd member {Name} is already running (pid {_process.Id})");
            }
            _process?.Dispose();
            ProcessStartInfo psi = new(EtcdServer.EtcdPath)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            string[] args =
            [
                "--name=" + Name,
                "--data-dir=" + DataDir,
                "--listen-client-urls=" + ClientUrl,
                "--advertise-client-urls=" + ClientUrl,
                "--listen-peer-urls=" + PeerUrl,
                "--initial-advertise-peer-urls=" + PeerUrl,
                "--initial-cluster=" + _initialCluster,
                "--initial-cluster-token=" + _clusterToken,
                "--initial-cluster-state=" + (_initialized ? "existing" : "new"),
                // Short election times: a lost member is noticed, and a leader re-elected, within a second.
                "--heartbeat-interval=50",
                "--election-timeout=500",
                "--logger=zap",
                "--log-outputs=stderr",
                "--log-level=warn",
            ];
            foreach (string a in args)
            {
                psi.ArgumentList.Add(a);
            }
            if (_tls is not null)
            {
                psi.ArgumentList.Add("--cert-file=" + _tls.ServerCertFile);
                psi.ArgumentList.Add("--key-file=" + _tls.ServerKeyFile);
                psi.ArgumentList.Add("--trusted-ca-file=" + _tls.CaFile);
                psi.ArgumentList.Add("--client-cert-auth");
            }
            Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {EtcdServer.EtcdPath}");
            p.OutputDataReceived += (_, e) => _log.Append(e.Data);
            p.ErrorDataReceived += (_, e) => _log.Append(e.Data);
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
            _initialized = true;
            EtcdServer.Track(this, live: true);
        }
    }

    /// <summary>Kills the member by PID and waits for it to exit; its data stays for a restart.</summary>
    internal void Stop()
    {
        lock (_gate)
        {
            if (_process is null)
            {
                return;
            }
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill();
                }
                _process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Exited on its own.
            }
            EtcdServer.Track(this, live: false);
        }
    }

    /// <summary>The last lines etcd logged, for failure messages.</summary>
    public string LogTail() => _log.Tail(2000);

}

/// <summary>A throw-away CA with a server certificate for 127.0.0.1 and a client certificate, made with openssl.</summary>
public sealed class EtcdTlsFiles
{
    private EtcdTlsFiles(string dir)
    {
        Directory = dir;
    }

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");

    public string ServerCertFile => Path.Combine(Directory, "server.crt");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public string ClientCertFile => Path.Combine(Directory, "client.crt");

    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    /// <summary>A second CA that signed nothing here: a client trusting only it must refuse the server.</summary>
    public string OtherCaFile => Path.Combine(Directory, "other-ca.crt");

    public static EtcdTlsFiles Create(string dir)
    {
        System.IO.Directory.CreateDirectory(dir);
        EtcdTlsFiles f = new(dir);
        string[] ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        foreach (string ca in new[] { "ca", "other-ca" })
        {
            Tool.Check("openssl", ["req", "-x509", .. ec, "-keyout", Path.Combine(dir, ca + ".key"), "-out", Path.Combine(dir, ca + ".crt"),
                "-days", "2", "-subj", "/CN=twill-test-" + ca,
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        }
        Sign(dir, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
        Sign(dir, "client", "/CN=root", "extendedKeyUsage=clientAuth\n");
        return f;
    }

    private static void Sign(string dir, string name, string subject, string extensions)
    {
        string ext = Path.Combine(dir, name + ".ext");
        File.WriteAllText(ext, extensions);
        Tool.Check("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", Path.Combine(dir, name + ".key"), "-out", Path.Combine(dir, name + ".csr"), "-subj", subject);
        Tool.Check("openssl", "x509", "-req", "-in", Path.Combine(dir, name + ".csr"), "-CA", Path.Combine(dir, "ca.crt"),
            "-CAkey", Path.Combine(dir, "ca.key"), "-CAcreateserial", "-out", Path.Combine(dir, name + ".crt"), "-days", "2", "-extfile", ext);
    }
}
