using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Twill.Core;

namespace Twill.Leases;

/// <summary>
/// The value of a lease, exactly as Flannel writes it:
/// <c>{"PublicIP":"192.0.2.13","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}}</c>.
/// Field order PublicIP, PublicIPv6 (<c>null</c> when absent), BackendType (omitted when empty),
/// BackendData (omitted when none, e.g. host-gw), BackendV6Data (only when present). Backend data are
/// kept as raw JSON text so a record round-trips byte for byte; typed views are
/// <see cref="VxlanData"/> / <see cref="VxlanV6Data"/>.
/// </summary>
public sealed record LeaseAttrs
{
    /// <summary>The node's IPv4 underlay address; 0.0.0.0 when the node has none (Flannel's zero IP4).</summary>
    public IPAddress PublicIP { get; init; } = IPAddress.Any;

    /// <summary>The node's IPv6 underlay address, when it has one.</summary>
    public IPAddress? PublicIPv6 { get; init; }

    /// <summary>"vxlan", "host-gw", ... (empty is allowed by Flannel and then omitted).</summary>
    public string BackendType { get; init; } = "";

    /// <summary>The backend's data as raw JSON text (vxlan: <c>{"VNI":4096,"VtepMAC":"..."}</c>), or null.</summary>
    public string? BackendData { get; init; }

    /// <summary>The backend's IPv6 data as raw JSON text, or null.</summary>
    public string? BackendV6Data { get; init; }

    /// <summary>True when the lease carries an IPv4 public address (not 0.0.0.0).</summary>
    public bool HasPublicIP => !PublicIP.Equals(IPAddress.Any);

    /// <summary>vxlan lease attributes for this node, as Flannel's vxlan backend builds them.</summary>
    public static LeaseAttrs ForVxlan(IPAddress? publicIP, VxlanLeaseData? data, IPAddress? publicIPv6 = null, VxlanLeaseData? v6Data = null) => new()
    {
        PublicIP = publicIP ?? IPAddress.Any,
        PublicIPv6 = publicIPv6,
        BackendType = "vxlan",
        BackendData = data?.ToJson(),
        BackendV6Data = v6Data?.ToJson(),
    };

    /// <summary>host-gw lease attributes: public addresses only, no backend data.</summary>
    public static LeaseAttrs ForHostGw(IPAddress? publicIP, IPAddress? publicIPv6 = null) => new()
    {
        PublicIP = publicIP ?? IPAddress.Any,
        PublicIPv6 = publicIPv6,
        BackendType = "host-gw",
    };

    /// <summary>The typed vxlan data, or null when absent or not vxlan data.</summary>
    public VxlanLeaseData? VxlanData => BackendData is not null && VxlanLeaseData.TryParse(BackendData, out VxlanLeaseData? d, out _) ? d : null;

    /// <summary>The typed vxlan data of the IPv6 tunnel, or null.</summary>
    public VxlanLeaseData? VxlanV6Data => BackendV6Data is not null && VxlanLeaseData.TryParse(BackendV6Data, out VxlanLeaseData? d, out _) ? d : null;

    /// <summary>The JSON value Flannel writes for these attributes.</summary>
    public string ToJson()
    {
        using MemoryStream stream = new();
        using (Utf8JsonWriter w = new(stream))
        {
            w.WriteStartObject();
            w.WriteString(nameof(PublicIP), PublicIP.ToString());
            if (PublicIPv6 is null)
            {
                w.WriteNull(nameof(PublicIPv6));
            }
            else
            {
                w.WriteString(nameof(PublicIPv6), PublicIPv6.ToString());
            }
            if (BackendType.Length > 0)
            {
                w.WriteString(nameof(BackendType), BackendType);
            }
            if (BackendData is not null)
            {
                w.WritePropertyName(nameof(BackendData));
                w.WriteRawValue(BackendData);
            }
            if (BackendV6Data is not null)
            {
                w.WritePropertyName(nameof(BackendV6Data));
                w.WriteRawValue(BackendV6Data);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static LeaseAttrs Parse(string json) =>
        TryParse(json, out LeaseAttrs? attrs, out string? error) ? attrs : throw new FormatException(error);

    /// <summary>
    /// Reads a lease value as Flannel's decoder would (case-insensitive keys, unknown keys ignored,
    /// null = absent). A value that is not an object, or a public IP that is not an address of its
    /// family, is an error naming the field.
    /// </summary>
    public static bool TryParse(string? json, [NotNullWhen(true)] out LeaseAttrs? attrs, [NotNullWhen(false)] out string? error)
    {
        attrs = null;
        if (string.IsNullOrEmpty(json))
        {
            error = "lease value is empty";
            return false;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            error = $"lease value is not valid JSON: {e.Message}";
            return false;
        }
        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"lease value is not a JSON object: {Truncate(json)}";
                return false;
            }
            LeaseAttrs result = new();
            foreach (JsonProperty p in root.EnumerateObject())
            {
                JsonElement v = p.Value;
                if (v.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }
                if (string.Equals(p.Name, nameof(PublicIP), StringComparison.OrdinalIgnoreCase))
                {
                    if (!TryAddress(v, AddressFamily.InterNetwork, out IPAddress? ip))
                    {
                        error = $"lease PublicIP {Raw(v)} is not an IPv4 address";
                        return false;
                    }
                    result = result with { PublicIP = ip };
                }
                else if (string.Equals(p.Name, nameof(PublicIPv6), StringComparison.OrdinalIgnoreCase))
                {
                    if (!TryAddress(v, AddressFamily.InterNetworkV6, out IPAddress? ip))
                    {
                        error = $"lease PublicIPv6 {Raw(v)} is not an IPv6 address";
                        return false;
                    }
                    result = result with { PublicIPv6 = ip };
                }
                else if (string.Equals(p.Name, nameof(BackendType), StringComparison.OrdinalIgnoreCase))
                {
                    if (v.ValueKind != JsonValueKind.String)
                    {
                        error = $"lease BackendType {Raw(v)} is not a string";
                        return false;
                    }
                    result = result with { BackendType = v.GetString()! };
                }
                else if (string.Equals(p.Name, nameof(BackendData), StringComparison.OrdinalIgnoreCase))
                {
                    result = result with { BackendData = v.GetRawText() };
                }
                else if (string.Equals(p.Name, nameof(BackendV6Data), StringComparison.OrdinalIgnoreCase))
                {
                    result = result with { BackendV6Data = v.GetRawText() };
                }
            }
            attrs = result;
            error = null;
            return true;
        }
    }

    private static bool TryAddress(JsonElement v, AddressFamily family, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        return v.ValueKind == JsonValueKind.String
            && SubnetMath.TryParseAddress(v.GetString(), out address)
            && address.AddressFamily == family;
    }

    private static string Raw(JsonElement v) => Truncate(v.GetRawText());

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
