using System.Text.Json.Serialization;
using Twill.Cni.Plugins.Bridge;
using Twill.Cni.Plugins.HostLocal;

namespace Twill.Cni.Protocol;

/// <summary>
/// Source-generated JSON metadata for every typed config (no reflection under Native AOT). Keys
/// match case-insensitively and unknown keys are ignored, as Go's decoder does.
/// </summary>
[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(HostLocalNetConf))]
[JsonSerializable(typeof(BridgeNetConf))]
internal sealed partial class CniJsonContext : JsonSerializerContext;
