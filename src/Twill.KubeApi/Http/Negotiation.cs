namespace Twill.KubeApi.Http;

/// <summary>How a response is rendered, from the Accept header (as kube-apiserver's negotiation reads it).</summary>
internal enum Rendering
{
    /// <summary>The object itself, application/json.</summary>
    Object,

    /// <summary>meta.k8s.io Table (<c>as=Table;g=meta.k8s.io;v=v1</c>), what kubectl get asks for.</summary>
    Table,

    /// <summary>meta.k8s.io PartialObjectMetadata / PartialObjectMetadataList.</summary>
    PartialObjectMetadata,
}

internal readonly record struct Negotiated(Rendering Rendering, string MetaVersion)
{
    public string ContentType => Rendering == Rendering.Object
        ? "application/json"
        : $"application/json;as={(Rendering == Rendering.Table ? "Table" : "PartialObjectMetadata")};v={MetaVersion.Split('/')[1]};g=meta.k8s.io";

    /// <summary>The first acceptable media range wins; none acceptable is 406.</summary>
    public static Negotiated FromAccept(string? accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return new Negotiated(Rendering.Object, "");
        }
        foreach (string range in accept.Split(','))
        {
            string[] parts = range.Split(';', StringSplitOptions.TrimEntries);
            string type = parts[0].ToLowerInvariant();
            if (type is not ("application/json" or "*/*" or "application/*"))
            {
                continue;
            }
            Dictionary<string, string> p = new(StringComparer.OrdinalIgnoreCase);
            foreach (string kv in parts.Skip(1))
            {
                int eq = kv.IndexOf('=');
                if (eq > 0)
                {
                    p[kv[..eq].Trim()] = kv[(eq + 1)..].Trim();
                }
            }
            if (!p.TryGetValue("as", out string? @as))
            {
                return new Negotiated(Rendering.Object, "");
            }
            if (!p.TryGetValue("g", out string? g) || g != "meta.k8s.io" || !p.TryGetValue("v", out string? v) || v is not ("v1" or "v1beta1"))
            {
                continue;
            }
            switch (@as)
            {
                case "Table":
                    return new Negotiated(Rendering.Table, "meta.k8s.io/" + v);
                case "PartialObjectMetadata" or "PartialObjectMetadataList":
                    return new Negotiated(Rendering.PartialObjectMetadata, "meta.k8s.io/" + v);
                default:
                    continue;
            }
        }
        throw new ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io");
    }
}
