using System.Net;
using Twill.Bgp.Session;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Config;

/// <summary>How the ToR learns the nodes' subnets.</summary>
public enum TorMode
{
    /// <summary>Every node announces its subnet to the ToR over BGP.</summary>
    Bgp,

    /// <summary>Nothing is announced and no peer routes are programmed: the operator types the routes into the switch (<c>twill tor routes</c>).</summary>
    Static,
}

/// <summary>
/// The <c>Backend</c> object of net-conf.json for the L3 top-of-rack topology, <c>"Type": "bgp"</c>.
/// Keys match case-insensitively; unknown keys are warnings. Shape:
/// <code>
/// "Backend": {
///   "Type": "bgp",
///   "Mode": "bgp",                 // or "static": announce nothing (default "bgp")
///   "ASN": 64512,                  // this node's AS; required unless NodeASNs names every node
///   "NodeASNs": { "node-a": 64601 },  // optional per-node ASNs (node name → ASN)
///   "RouterID": "198.51.100.11",   // optional; default the node's public IPv4 address
///   "Peers": [                     // at least one in "bgp" mode
///     { "Address": "198.51.100.1", // required, IPv4 or IPv6
///       "ASN": 65000,              // required
///       "Port": 179,               // default 179
///       "HoldTime": 90,            // seconds, 0 or 3..65535, default 90
///       "Password": "s3cret",      // TCP-MD5 key (RFC 2385), at most 80 octets ...
///       "PasswordFile": "/etc/twill/tor-md5" }  // ... or a file holding it (not both)
///   ],
///   "GracefulRestart": true,       // default true (RFC 4724, restarting speaker)
///   "RestartTime": 120,            // seconds, 1..4095, default 120
///   "Communities": ["64512:100"],  // attached to every announcement ("high:low" or a 32-bit number)
///   "ImportRoutes": false,         // install routes learnt from the peers (ToR not the default gateway)
///   "MaxPrefixes": 1000,           // per peer, when importing
///   "ConnectTimeout": 5            // seconds; a wrong MD5 key shows up as this timeout
/// }
/// </code>
/// </summary>
public sealed record BgpBackendConfig
{
    public const string TypeName = "bgp";

    public TorMode Mode { get; init; } = TorMode.Bgp;

    /// <summary>The AS of every node not in <see cref="NodeAsns"/>; 0 when not set.</summary>
    public uint Asn { get; init; }

    public IReadOnlyDictionary<string, uint> NodeAsns { get; init; } = new Dictionary<string, uint>();

    public IPAddress? RouterId { get; init; }

    public IReadOnlyList<BgpPeerConfig> Peers { get; init; } = [];

    public bool GracefulRestart { get; init; } = true;

    public ushort RestartTime { get; init; } = BgpPeerSettings.DefaultRestartTime;

    public IReadOnlyList<uint> Communities { get; init; } = [];

    public bool ImportRoutes { get; init; }

    public int MaxPrefixes { get; init; } = Speaker.ImportFilter.DefaultMaxPrefixes;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The AS of <paramref name="nodeName"/>: its <see cref="NodeAsns"/> entry, else <see cref="Asn"/>.</summary>
    public uint AsnOf(string nodeName) => NodeAsns.TryGetValue(nodeName, out uint asn) ? asn : Asn;

    /// <summary>
    /// The sessions of <paramref name="nodeName"/>, with passwords read from their files. Throws
    /// <see cref="BgpConfigException"/> naming the peer and file when a password file is unreadable.
    /// </summary>
    public IReadOnlyList<BgpPeerSettings> PeerSettings(string nodeName, IPAddress nodeAddress, bool restarting = false)
    {
        uint asn = AsnOf(nodeName);
        if (asn == 0)
        {
            throw new BgpConfigException([$"Backend.ASN: node {nodeName} has no ASN (set Backend.ASN or Backend.NodeASNs.{nodeName})"]);
        }
        IPAddress routerId = RouterId ?? (nodeAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? nodeAddress
            : throw new BgpConfigException([$"Backend.RouterID: required when the node has no IPv4 address (got {nodeAddress})"]));
        List<BgpPeerSettings> settings = [];
        for (int i = 0; i < Peers.Count; i++)
        {
            BgpPeerConfig peer = Peers[i];
            settings.Add(new BgpPeerSettings
            {
                LocalAsn = asn,
                RouterId = routerId,
                PeerAddress = peer.Address,
                PeerAsn = peer.Asn,
                Port = peer.Port,
                HoldTime = peer.HoldTime,
                GracefulRestart = GracefulRestart,
                RestartTime = RestartTime,
                Restarting = restarting,
                Md5Password = peer.ResolvePassword($"Backend.Peers[{i}]"),
                ConnectTimeout = ConnectTimeout,
            });
        }
        return settings;
    }
}

/// <summary>One entry of <c>Backend.Peers</c>.</summary>
public sealed record BgpPeerConfig
{
    public required IPAddress Address { get; init; }

    public required uint Asn { get; init; }

    public int Port { get; init; } = BgpPeerSettings.DefaultPort;

    public ushort HoldTime { get; init; } = BgpPeerSettings.DefaultHoldTime;

    public string? Password { get; init; }

    public string? PasswordFile { get; init; }

    /// <summary>The MD5 key: <see cref="Password"/>, or the first line of <see cref="PasswordFile"/> (trailing newline dropped), or null.</summary>
    public string? ResolvePassword(string field)
    {
        if (PasswordFile is null)
        {
            return Password;
        }
        string text;
        try
        {
            text = File.ReadAllText(PasswordFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BgpConfigException([$"{field}.PasswordFile: cannot read \"{PasswordFile}\": {e.Message}"]);
        }
        string key = text.TrimEnd('\r', '\n');
        if (key.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(key) > TcpMd5.MaxKeyLength)
        {
            throw new BgpConfigException([$"{field}.PasswordFile: \"{PasswordFile}\" holds a key of {System.Text.Encoding.UTF8.GetByteCount(key)} octets (1..{TcpMd5.MaxKeyLength} expected)"]);
        }
        return key;
    }

    public override string ToString() => $"{Address} AS{Asn}";
}

/// <summary>The "bgp" backend section is invalid; <see cref="Errors"/> lists every problem, each naming field and value.</summary>
public sealed class BgpConfigException : FormatException
{
    public BgpConfigException(IReadOnlyList<string> errors)
        : base(string.Join(Environment.NewLine, errors)) => Errors = errors;

    public BgpConfigException()
        : this(["invalid bgp backend"])
    {
    }

    public BgpConfigException(string message)
        : this([message])
    {
    }

    public BgpConfigException(string message, Exception innerException)
        : base(message, innerException) => Errors = [message];

    public IReadOnlyList<string> Errors { get; }
}
