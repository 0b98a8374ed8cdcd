namespace Twill.Cni.Protocol;

/// <summary>
/// CNI_ARGS: <c>KEY=VALUE;KEY=VALUE</c>. As in the reference, a plugin names the keys it knows and
/// any other key is an error unless <c>IgnoreUnknown</c> is true (runtimes such as the kubelet set
/// it and pass K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID).
/// </summary>
public sealed class CniArgs
{
    public static readonly string[] KubernetesKeys = ["K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"];

    private readonly List<KeyValuePair<string, string>> _pairs;

    private CniArgs(List<KeyValuePair<string, string>> pairs) => _pairs = pairs;

    public static CniArgs Empty { get; } = new([]);

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public static CniArgs Parse(string? text)
    {
        List<KeyValuePair<string, string>> pairs = [];
        if (string.IsNullOrEmpty(text))
        {
            return new CniArgs(pairs);
        }
        foreach (string item in text.Split(';'))
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                throw new CniException(CniErrorCode.InvalidEnvironment, $"ARGS: invalid pair \"{item}\" in CNI_ARGS (expected KEY=VALUE)");
            }
            pairs.Add(new(item[..eq], item[(eq + 1)..]));
        }
        return new CniArgs(pairs);
    }

    public string? Get(string key)
    {
        foreach (KeyValuePair<string, string> p in _pairs)
        {
            if (p.Key == key)
            {
                return p.Value;
            }
        }
        return null;
    }

    /// <summary>True when IgnoreUnknown is set to a Go-style true value (1, t, T, true, TRUE, True).</summary>
    public bool IgnoreUnknown => Get("IgnoreUnknown") is { } v && ParseBool(v, "IgnoreUnknown");

    /// <summary>Rejects keys the plugin does not know, as the reference's LoadArgs does.</summary>
    public void RequireKnown(params string[] known)
    {
        bool ignore = IgnoreUnknown;
        foreach (KeyValuePair<string, string> p in _pairs)
        {
            if (p.Key == "IgnoreUnknown" || Array.IndexOf(known, p.Key) >= 0 || ignore)
            {
                continue;
            }
            throw new CniException(CniErrorCode.InvalidEnvironment,
                $"ARGS: unknown args \"{p.Key}\" in CNI_ARGS (set IgnoreUnknown=1 to pass keys this plugin does not use)");
        }
    }

    internal static bool ParseBool(string v, string key) => v switch
    {
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"ARGS: {key}=\"{v}\" is not a boolean"),
    };
}
