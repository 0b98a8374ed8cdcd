namespace Twill.Core;

/// <summary>
/// One problem with a configuration: where it came from, the field it is about and what is wrong.
/// Callers branch on <see cref="Field"/>; people read <see cref="ToString"/>.
/// </summary>
/// <param name="Source">The file (or name) the configuration came from, e.g. <c>/etc/kube-flannel/net-conf.json</c>.</param>
/// <param name="Field">The field as the file spells it (<c>SubnetMin</c>, <c>Backend.VNI</c>); null for the document as a whole (not JSON, not an object).</param>
/// <param name="Message">What is wrong, naming the field and the value.</param>
public sealed record ConfigError(string Source, string? Field, string Message)
{
    /// <summary>"source: message", as printed to the user.</summary>
    public override string ToString() => Source.Length == 0 ? Message : $"{Source}: {Message}";
}

/// <summary>net-conf.json is invalid; <see cref="Errors"/> lists every problem, each naming field and value.</summary>
public sealed class NetworkConfigException : FormatException
{
    public NetworkConfigException(IReadOnlyList<ConfigError> errors)
        : base(string.Join(Environment.NewLine, errors)) => Errors = errors;

    public NetworkConfigException()
        : this([])
    {
    }

    public NetworkConfigException(string message)
        : this([new ConfigError("", null, message)])
    {
    }

    public NetworkConfigException(string message, Exception innerException)
        : base(message, innerException) => Errors = [new ConfigError("", null, message)];

    /// <summary>Every problem found, in the order found.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    /// <summary>The problems as printed: "source: message" each.</summary>
    public IReadOnlyList<string> Messages => [.. Errors.Select(e => e.ToString())];
}
