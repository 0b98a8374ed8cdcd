using System.Net.Sockets;
using System.Text;
using Twill.Netlink;

namespace Twill.Lab;

/// <summary>
/// The pods' TCP responder: one process (<c>twill lab serve</c>) holding a listener inside every
/// pod namespace, answering each connection with the pod's name. Cheaper than a process per pod,
/// and it proves the connection landed in the right pod (hostPort DNAT included).
/// </summary>
public static class LabResponder
{
    public static string ReadyFile(LabPaths paths) => Path.Combine(paths.Root, "responder.ready");

    public static int Run(string name, string? root, CancellationToken stop)
    {
        LabPaths paths = new(name, root);
        LabState state = LabState.Load(paths.StateFile)
            ?? throw new LabConfigException($"lab {name}: no state at {paths.StateFile}");
        List<Task> loops = [];
        List<Socket> listeners = [];
        foreach (LabPodState pod in state.Pods)
        {
            using NetNs ns = NetNs.Open(pod.Namespace);
            Socket listener = NamespaceSockets.Listen(ns, pod.ContainerPort);
            listeners.Add(listener);
            loops.Add(ServeAsync(listener, Encoding.ASCII.GetBytes(NamespaceSockets.Banner(pod.Name)), stop));
        }
        File.WriteAllText(ReadyFile(paths), $"{Environment.ProcessId}\n");
        Console.WriteLine($"twill lab serve: listening in {listeners.Count} pods");
        try
        {
            Task.WaitAll([.. loops], CancellationToken.None);
        }
        catch (AggregateException)
        {
        }
        foreach (Socket s in listeners)
        {
            s.Dispose();
        }
        return 0;
    }

    private static async Task ServeAsync(Socket listener, byte[] banner, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            _ = AnswerAsync(client, banner);
        }
    }

    private static async Task AnswerAsync(Socket client, byte[] banner)
    {
        using (client)
        {
            try
            {
                await client.SendAsync(banner, SocketFlags.None).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }
        }
    }
}
