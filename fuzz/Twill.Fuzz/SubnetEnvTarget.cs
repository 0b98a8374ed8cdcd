using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twill.Cni.Plugins.Flannel;
using Twill.Core;

namespace Twill.Fuzz;

/// <summary>
/// subnet.env as the flannel CNI plugin reads it (the agent writes it, but anything with root can
/// edit it): only <see cref="FormatException"/>. A file that reads must write back as itself, and
/// the plugin must derive its delegate config from it.
/// </summary>
internal static class SubnetEnvTarget
{
    private static readonly JsonElement Original = JsonDocument.Parse("""{"cniVersion":"1.0.0","name":"cbr0","type":"flannel"}""").RootElement;

    public static void Run(byte[] data)
    {
        SubnetEnv env;
        try
        {
            env = SubnetEnv.Parse(Encoding.UTF8.GetString(data));
        }
        catch (FormatException)
        {
            return;
        }
        string text = env.Format();
        string again = SubnetEnv.Parse(text).Format();
        if (again != text)
        {
            throw new InvalidOperationException($"subnet.env written as\n{text}\nreads back as\n{again}");
        }
        FlannelPlugin.DeriveDelegate(new JsonObject { ["type"] = "flannel" }, env, "cbr0", Original);
    }
}
