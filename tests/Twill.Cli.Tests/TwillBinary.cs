namespace Twill.Cli.Tests;

/// <summary>The published twill binary the Category=Binary tests run: TWILL_BIN, else the repository's out/bin/twill (<c>make build</c>).</summary>
internal static class TwillBinary
{
    public static string Path
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("TWILL_BIN");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            string dir = AppContext.BaseDirectory;
            while (!File.Exists(System.IO.Path.Combine(dir, "Twill.slnx")))
            {
                dir = System.IO.Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found; set TWILL_BIN");
            }
            return System.IO.Path.Combine(dir, "out", "bin", "twill");
        }
    }
}
