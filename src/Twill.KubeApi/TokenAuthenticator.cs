using System.Security.Cryptography;
using System.Text;

namespace Twill.KubeApi;

/// <summary>
/// kube-apiserver's static token authenticator (<c>--token-auth-file</c>): a request is authenticated by
/// <c>Authorization: Bearer &lt;token&gt;</c> naming a token of the file. Lines are kube's csv
/// (<c>token,user,uid[,"group1,group2"]</c>) or a bare token; blank lines and <c>#</c> comments are skipped.
/// </summary>
internal sealed class TokenAuthenticator
{
    private readonly List<(byte[] Token, string User)> _tokens;

    private TokenAuthenticator(List<(byte[], string)> tokens) => _tokens = tokens;

    public int Count => _tokens.Count;

    public static TokenAuthenticator Load(string path)
    {
        List<(byte[], string)> tokens = [];
        int lineNumber = 0;
        foreach (string raw in File.ReadLines(path))
        {
            lineNumber++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            string[] fields = line.Split(',', 3);
            string token = fields[0].Trim().Trim('"');
            if (token.Length == 0)
            {
                throw new UsageException($"--token-auth-file {path}: line {lineNumber}: empty token");
            }
            string user = fields.Length > 1 ? fields[1].Trim().Trim('"') : "token-" + lineNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
            tokens.Add((Encoding.UTF8.GetBytes(token), user));
        }
        if (tokens.Count == 0)
        {
            throw new UsageException($"--token-auth-file {path}: no tokens");
        }
        return new TokenAuthenticator(tokens);
    }

    /// <summary>The user the header authenticates, or null (missing, not Bearer, or an unknown token).</summary>
    public string? Authenticate(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        byte[] presented = Encoding.UTF8.GetBytes(authorization[7..].Trim());
        string? user = null;
        foreach ((byte[] token, string name) in _tokens)
        {
            // Every token is compared, in constant time, so timing does not tell which prefix matched.
            if (CryptographicOperations.FixedTimeEquals(token, presented))
            {
                user ??= name;
            }
        }
        return user;
    }
}
