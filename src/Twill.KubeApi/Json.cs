using System.Text.Encodings.Web;
using System.Text.Json;

namespace Twill.KubeApi;

/// <summary>How JSON is written, to etcd and to clients: quotes as \" (as Go's encoder), not \u0022.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
