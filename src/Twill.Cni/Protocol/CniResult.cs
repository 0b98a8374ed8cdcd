using System.Net;
using Twill.Core;

namespace Twill.Cni.Protocol;

/// <summary>An interface in a result; <see cref="Sandbox"/> is set for the one inside the pod.</summary>
public sealed record CniInterface(string Name, string? Mac = null, string? Sandbox = null)
{
    public int? Mtu { get; init; }

    public string? SocketPath { get; init; }

    public string? PciId { get; init; }
}

/// <summary>An address given to an interface (index into <see cref="CniResult.Interfaces"/>).</summary>
public sealed record CniIpConfig(InterfaceAddress Address, IPAddress? Gateway = null, int? Interface = null);

/// <summary>A route; the 1.1 extra fields are printed only for 1.1 results.</summary>
public sealed record CniRoute(InterfaceAddress Dst, IPAddress? Gw = null)
{
    public int? Mtu { get; init; }
    public int? AdvMss { get; init; }
    public int? Priority { get; init; }
    public int? Table { get; init; }
    public int? Scope { get; init; }
}

public sealed record CniDns
{
    public List<string> Nameservers { get; init; } = [];
    public string? Domain { get; init; }
    public List<string> Search { get; init; } = [];
    public List<string> Options { get; init; } = [];

    public bool IsEmpty => Nameservers.Count == 0 && Domain is null && Search.Count == 0 && Options.Count == 0;
}

/// <summary>
/// A plugin's result in the current (1.x) model. Older versions are produced from it by
/// <see cref="ResultWriter"/> the way the reference `types` packages convert, and read into it by
/// <see cref="ResultReader"/>.
/// </summary>
public sealed class CniResult
{
    public List<CniInterface> Interfaces { get; init; } = [];
    public List<CniIpConfig> Ips { get; init; } = [];
    public List<CniRoute> Routes { get; init; } = [];
    public CniDns Dns { get; set; } = new();
}
