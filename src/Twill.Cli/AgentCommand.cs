using System.CommandLine;
using System.Runtime.InteropServices;
using Twill.Agent;

namespace Twill.Cli;

/// <summary>
/// <c>twill agent</c>: the node agent. Flags are Flannel's (Go flag syntax: <c>--iface eth0</c>,
/// <c>--iface=eth0</c>, <c>-ip-masq</c>), so they are parsed by <see cref="AgentFlags"/> rather than
/// System.CommandLine; <c>twill agent --help</c> appends their table (<see cref="FlagsHelp"/>) to the usual help.
/// </summary>
internal static class AgentCommand
{
    /// <summary>The agent's flags, for <c>twill agent --help</c> only (<c>twill --help</c> keeps one line per command).</summary>
    public static string FlagsHelp =>
        "Flags (command line > TWILL_<FLAG> environment, e.g. TWILL_IFACE, TWILL_PUBLIC_IP > default):\n" + AgentFlags.Help;

    public static Command Create()
    {
        Command command = new("agent", "Run the node agent: lease this node's pod subnet and route every peer's (vxlan, host-gw).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(parseResult => Run([.. parseResult.UnmatchedTokens]));
        return command;
    }

    private static int Run(string[] args)
    {
        AgentOptions options;
        try
        {
            options = AgentFlags.Parse(args, AgentFlags.ProcessEnvironment());
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"twill agent: {e.Message}");
            return 2;
        }
        AgentLogger log = new(options.LogLevel);
        using CancellationTokenSource stop = new();
        // SIGTERM and SIGINT stop the agent cleanly; the data path stays so pods keep talking.
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using PosixSignalRegistration intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        try
        {
            return new NodeAgent(options, log).RunAsync(stop.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Log(Microsoft.Extensions.Logging.LogLevel.Critical, default, e.Message, null, (s, _) => "twill agent: " + s);
            return 1;
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }
}
