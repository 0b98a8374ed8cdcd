namespace Twill.Cni.Protocol;

/// <summary>The spec versions this plugin speaks and how results are shaped for each.</summary>
public static class CniVersions
{
    public const string Current = "1.1.0";

    public static readonly string[] Supported = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

    /// <summary>The runtime omitted cniVersion: the spec reads that as 0.1.0.</summary>
    public const string Default = "0.1.0";

    public static bool IsSupported(string version) => Array.IndexOf(Supported, version) >= 0;

    /// <summary>Compares two dotted versions numerically; a malformed one is a config error naming it.</summary>
    public static int Compare(string a, string b)
    {
        int[] x = Parse(a), y = Parse(b);
        for (int i = 0; i < 3; i++)
        {
            int c = x[i].CompareTo(y[i]);
            if (c != 0)
            {
                return c;
            }
        }
        return 0;
    }

    public static bool AtLeast(string version, string minimum) => Compare(version, minimum) >= 0;

    private static int[] Parse(string v)
    {
        string[] parts = v.Split('.');
        int[] n = new int[3];
        if (parts.Length is < 1 or > 3)
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid version \"{v}\": expected MAJOR.MINOR.PATCH");
        }
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out n[i]))
            {
                throw new CniException(CniErrorCode.InvalidNetworkConfig, $"invalid version \"{v}\": '{parts[i]}' is not a number");
            }
        }
        return n;
    }
}
