using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.NetworkInformation;
using System.Text;
using System.Text.Json;
using Twill.Core;

namespace Twill.Leases;

/// <summary>
/// A vxlan lease's backend data: <c>{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}</c>. A Windows node
/// first publishes an empty VtepMAC (HNS has not given it its MAC yet): <see cref="VtepMac"/> is then
/// null and the peer cannot be programmed until it updates its lease.
/// </summary>
public sealed record VxlanLeaseData(int Vni, PhysicalAddress? VtepMac)
{
    /// <summary>True when the peer has published its VTEP MAC (false for a Windows node's first publication).</summary>
    public bool HasVtepMac => VtepMac is not null;

    /// <summary>The MAC as Flannel prints it: lower-case, colon-separated; empty when none.</summary>
    public string VtepMacText => VtepMac is null ? "" : VtepMac.ToColonString();

    /// <summary>The JSON Flannel writes: <c>{"VNI":4096,"VtepMAC":"c6:d2:32:6f:8f:44"}</c>.</summary>
    public string ToJson() =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"VNI\":{Vni},\"VtepMAC\":\"{VtepMacText}\"}}");

    /// <summary>
    /// Reads vxlan backend data. The VNI must be a 24-bit number; VtepMAC must be a 6-byte MAC or empty.
    /// Keys match case-insensitively; unknown keys are ignored (Flannel's decoder).
    /// </summary>
    public static bool TryParse(string? json, [NotNullWhen(true)] out VxlanLeaseData? data, [NotNullWhen(false)] out string? error)
    {
        data = null;
        if (string.IsNullOrEmpty(json))
        {
            error = "vxlan BackendData is missing";
            return false;
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"vxlan BackendData {Truncate(json)} is not an object";
                return false;
            }
            int? vni = null;
            PhysicalAddress? mac = null;
            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (string.Equals(p.Name, "VNI", StringComparison.OrdinalIgnoreCase))
                {
                    if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int n) || n is < 0 or > 16_777_215)
                    {
                        error = $"vxlan BackendData VNI {Truncate(p.Value.GetRawText())} is not a 24-bit number";
                        return false;
                    }
                    vni = n;
                }
                else if (string.Equals(p.Name, "VtepMAC", StringComparison.OrdinalIgnoreCase))
                {
                    if (p.Value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }
                    string? text = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null;
                    if (text is null)
                    {
                        error = $"vxlan BackendData VtepMAC {Truncate(p.Value.GetRawText())} is not a string";
                        return false;
                    }
                    if (text.Length == 0)
                    {
                        mac = null;
                        continue;
                    }
                    if (!TryParseMac(text, out mac))
                    {
                        error = $"vxlan BackendData VtepMAC \"{Truncate(text)}\" is not a MAC address (e.g. c6:d2:32:6f:8f:44)";
                        return false;
                    }
                }
            }
            if (vni is null)
            {
                error = $"vxlan BackendData {Truncate(json)} has no VNI";
                return false;
            }
            data = new VxlanLeaseData(vni.Value, mac);
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = $"vxlan BackendData is not valid JSON: {e.Message}";
            return false;
        }
    }

    /// <summary>Parses <c>c6:d2:32:6f:8f:44</c> (or with '-'), exactly six bytes, not all-zero, unicast.</summary>
    public static bool TryParseMac(string text, [NotNullWhen(true)] out PhysicalAddress? mac)
    {
        mac = null;
        if (text.Length != 17)
        {
            return false;
        }
        byte[] bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text[(i * 3) - 1] is not (':' or '-'))
            {
                return false;
            }
            if (!byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }
        // A multicast or all-zero VTEP MAC would make the kernel flood or drop: not a usable peer.
        if ((bytes[0] & 1) != 0 || bytes.All(b => b == 0))
        {
            return false;
        }
        mac = new PhysicalAddress(bytes);
        return true;
    }

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
