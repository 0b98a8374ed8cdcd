using System.Diagnostics;
using Twill.Testing;

namespace Twill.Agent.Tests;

/// <summary>etcd and the API server stand-in inside the switch namespace, serving https://192.0.2.1:6443 to the nodes.</summary>
internal sealed class KubeControlPlane : IDisposable
{
    private readonly TestNetns _ns;
    private readonly List<Process> _processes = [];
    private readonly string _dir;
    private readonly System.Text.StringBuilder _log = new();
    private readonly string[] _apiServerArgs;
    private Process _apiServer;

    public KubeControlPlane(TestNetns ns, string labDir)
    {
        if (!File.Exists(KubeApiServer.BinaryPath))
        {
            throw new InvalidOperationException($"{KubeApiServer.BinaryPath} is missing: run `make build` (or set TWILL_KUBE_APISERVER)");
        }
        _ns = ns;
        _dir = Path.Combine(labDir, "control-plane");
        Directory.CreateDirectory(_dir);
        ns.Ip("link", "set", "lo", "up");
        ns.Ip("addr", "add", "192.0.2.1/24", "dev", "br0");
        string pki = Path.Combine(_dir, "pki");
        Tool.Run(KubeApiServer.BinaryPath, ["gen-certs", "--dir", pki, "--ip", "192.0.2.1"], stdin: null).EnsureSuccess("gen-certs");
        string token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        string tokens = Path.Combine(_dir, "tokens.csv");
        File.WriteAllText(tokens, $"{token},admin,admin-uid,\"system:masters\"\n");
        KubeconfigPath = Path.Combine(_dir, "kubeconfig");
        File.WriteAllText(KubeconfigPath, KubeApiServer.Kubeconfig("https://192.0.2.1:6443", Path.Combine(pki, "ca.crt"), token));
        Start(EtcdServer.EtcdPath, "--name", "cp", "--data-dir", Path.Combine(_dir, "etcd"),
            "--listen-client-urls", "http://127.0.0.1:23790", "--advertise-client-urls", "http://127.0.0.1:23790",
            "--listen-peer-urls", "http://127.0.0.1:23800", "--initial-advertise-peer-urls", "http://127.0.0.1:23800",
            "--initial-cluster", "cp=http://127.0.0.1:23800");
        _apiServerArgs =
        [
            "--etcd-servers=http://127.0.0.1:23790", "--bind-address=192.0.2.1", "--secure-port=6443",
            "--tls-cert-file=" + Path.Combine(pki, "apiserver.crt"), "--tls-private-key-file=" + Path.Combine(pki, "apiserver.key"),
            "--insecure-port=8080", "--token-auth-file=" + tokens,
        ];
        _apiServer = Start(KubeApiServer.BinaryPath, _apiServerArgs);
        WaitAnswering();
    }

    /// <summary>
    /// Stops the API server stand-in (SIGTERM, by its PID) and starts it again on the same etcd and
    /// address, as a control-plane upgrade does: every watch breaks, the objects and their
    /// resourceVersions stay (they are etcd's).
    /// </summary>
    public void RestartApiServer()
    {
        Tool.Run("kill", "-TERM", _apiServer.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess("kill the stand-in");
        if (!_apiServer.WaitForExit(10_000))
        {
            _apiServer.Kill();
            _apiServer.WaitForExit(10_000);
        }
        _processes.Remove(_apiServer);
        _apiServer.Dispose();
        _apiServer = Start(KubeApiServer.BinaryPath, _apiServerArgs);
        WaitAnswering();
    }

    /// <summary>Registers a Node as the kubelet does, with the podCIDR(s) kube-controller-manager would assign, and Flannel's annotations when given (a node flanneld runs on).</summary>
    public void CreateNode(string name, string[] podCidrs, IReadOnlyDictionary<string, string>? annotations = null)
    {
        using MemoryStream stream = new();
        using (System.Text.Json.Utf8JsonWriter w = new(stream))
        {
            w.WriteStartObject();
            w.WriteString("apiVersion", "v1");
            w.WriteString("kind", "Node");
            w.WriteStartObject("metadata");
            w.WriteString("name", name);
            w.WriteStartObject("annotations");
            foreach ((string k, string v) in annotations ?? new Dictionary<string, string>())
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("spec");
            if (podCidrs.Length > 0)
            {
                w.WriteString("podCIDR", podCidrs[0]);
                w.WriteStartArray("podCIDRs");
                foreach (string c in podCidrs)
                {
                    w.WriteStringValue(c);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        Kubectl(["create", "-f", "-"], System.Text.Encoding.UTF8.GetString(stream.ToArray())).EnsureSuccess("kubectl create node " + name);
    }

    /// <summary>Flannel's annotations of a vxlan node (VNI 4096, as the seed and Windows need).</summary>
    public static Dictionary<string, string> FlannelVxlan(string publicIP, string mac) => new()
    {
        [Prefix + "backend-data"] = $"{{\"VNI\":4096,\"VtepMAC\":\"{mac}\"}}",
        [Prefix + "backend-type"] = "vxlan",
        [Prefix + "kube-subnet-manager"] = "true",
        [Prefix + "public-ip"] = publicIP,
    };

    public const string Prefix = "flannel.alpha.coreos.com/";

    private void WaitAnswering()
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (Kubectl("get", "nodes").ExitCode != 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("the stand-in in the switch namespace did not answer kubectl within 60 s: " + LogTail());
            }
            Thread.Sleep(200);
        }
    }

    public string KubeconfigPath { get; }

    public Tool.Result Kubectl(params string[] args) => Kubectl(args, null);

    public Tool.Result Kubectl(string[] args, string? stdin) =>
        Tool.Run("nsenter", ["--net=" + _ns.Path, KubeApiServer.KubectlPath, "--kubeconfig=" + KubeconfigPath, "--request-timeout=20s", .. args], stdin, TimeSpan.FromSeconds(60));

    public string LogTail()
    {
        lock (_log)
        {
            string s = _log.ToString();
            return s.Length > 3000 ? s[^3000..] : s;
        }
    }

    private Process Start(string file, params string[] args)
    {
        ProcessStartInfo psi = new("nsenter") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in (string[])["--net=" + _ns.Path, file, .. args])
        {
            psi.ArgumentList.Add(a);
        }
        Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.ErrorDataReceived += (_, e) => Append(e.Data);
        p.OutputDataReceived += (_, e) => Append(e.Data);
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        _processes.Add(p);
        return p;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            if (_log.Length > 100_000)
            {
                _log.Remove(0, 50_000);
            }
            _log.AppendLine(line);
        }
    }

    public void Dispose()
    {
        // nsenter execs the program, so each PID is the program's own: stopped by PID, last started first.
        for (int i = _processes.Count - 1; i >= 0; i--)
        {
            try
            {
                if (!_processes[i].HasExited)
                {
                    _processes[i].Kill();
                    _processes[i].WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            _processes[i].Dispose();
        }
    }
}
