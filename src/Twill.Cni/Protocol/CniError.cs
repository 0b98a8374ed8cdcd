namespace Twill.Cni.Protocol;

/// <summary>The spec's well-known error codes (CNI 1.1 "Error"), plus the reference's catch-all 999.</summary>
public enum CniErrorCode
{
    /// <summary>The config's cniVersion is not one the plugin speaks.</summary>
    IncompatibleVersion = 1,
    /// <summary>A field the plugin does not support (e.g. an unknown key in CNI_ARGS).</summary>
    UnsupportedField = 2,
    /// <summary>The container does not exist or is not known to the plugin.</summary>
    UnknownContainer = 3,
    /// <summary>CNI_* environment variables missing or malformed.</summary>
    InvalidEnvironment = 4,
    /// <summary>Reading or writing state failed.</summary>
    IoFailure = 5,
    /// <summary>The config could not be decoded as JSON.</summary>
    DecodingFailure = 6,
    /// <summary>The config decodes but a value is wrong.</summary>
    InvalidNetworkConfig = 7,
    /// <summary>A transient condition: the runtime should retry.</summary>
    TryAgainLater = 11,
    /// <summary>STATUS: the plugin cannot serve ADD now (spec 1.1 code 50).</summary>
    NotAvailable = 50,
    /// <summary>Anything else (the reference plugins use 999 for plugin-specific failures).</summary>
    Internal = 999,
}

/// <summary>A failure reported to the runtime as the spec's error JSON on stdout (exit status 1).</summary>
public sealed class CniException(CniErrorCode code, string message, string? details = null) : Exception(message)
{
    public CniErrorCode Code { get; } = code;

    public string? Details { get; } = details;

    /// <summary>The code as sent (a delegate may report a code outside the enum).</summary>
    public int RawCode { get; init; } = (int)code;
}
