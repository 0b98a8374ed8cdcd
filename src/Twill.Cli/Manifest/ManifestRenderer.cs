using System.Globalization;
using System.Net;
using System.Text;
using Twill.Core;

namespace Twill.Cli.Manifest;

/// <summary>What <c>twill manifest</c> is asked for: the seed's two edits (net-conf.json, the image) as values.</summary>
internal sealed record ManifestOptions
{
    public const string DefaultImage = "localhost/twill:dev";

    public string Backend { get; init; } = "vxlan";
    public string Network { get; init; } = "10.244.0.0/16";
    public int? Vni { get; init; }
    public int? Port { get; init; }
    public bool DirectRouting { get; init; }
    public bool Gbp { get; init; }
    public string Image { get; init; } = DefaultImage;

    /// <summary>The cluster has Windows nodes: their overlay accepts only VNI ≥ 4096 on port 4789.</summary>
    public bool Windows { get; init; }
}

/// <summary>
/// Renders deploy/twill.yml from <see cref="ManifestOptions"/>: a fixed template with the values put
/// in, so no YAML library is needed and the default render is the checked-in file byte for byte.
/// Refuses, with the reason, what cannot work on the cluster described.
/// </summary>
internal static class ManifestRenderer
{
    public const int WindowsVni = 4096;
    public const int WindowsPort = 4789;

    /// <summary>The longest network prefix with room for two /24 node subnets.</summary>
    public const int MaxNetworkPrefix = 23;

    /// <summary>The rendered YAML, or the reasons it cannot be rendered (each names the flag).</summary>
    public static (string? Yaml, IReadOnlyList<string> Refusals) Render(ManifestOptions o)
    {
        List<string> refusals = [];
        bool vxlan = o.Backend == "vxlan";
        if (!vxlan && o.Backend != "host-gw")
        {
            refusals.Add($"--backend {o.Backend}: must be vxlan or host-gw");
        }
        if (!vxlan && (o.Vni is not null || o.Port is not null || o.DirectRouting || o.Gbp))
        {
            refusals.Add($"--vni, --port, --direct-routing and --gbp are vxlan settings; --backend {o.Backend} has none");
        }
        // The seed's values are the defaults: they work with and without Windows nodes.
        int vni = o.Vni ?? WindowsVni;
        int port = o.Port ?? WindowsPort;
        if (vxlan && o.Windows)
        {
            if (vni < WindowsVni)
            {
                refusals.Add($"--vni {vni}: Windows nodes' VXLAN (HNS overlay) accepts only VNI {WindowsVni} or above; use --vni {WindowsVni}");
            }
            if (port != WindowsPort)
            {
                refusals.Add($"--port {port}: Windows nodes' VXLAN listens only on UDP {WindowsPort}; use --port {WindowsPort}");
            }
            if (o.DirectRouting)
            {
                refusals.Add("--direct-routing with --windows: Windows nodes (win-overlay) do not program direct routes; drop --direct-routing, or use --backend host-gw on one L2 segment");
            }
            if (o.Gbp)
            {
                refusals.Add("--gbp with --windows: Windows nodes' VXLAN does not carry the Group Based Policy extension; drop --gbp");
            }
        }
        if (!IPNetwork.TryParse(o.Network, out IPNetwork network) || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            refusals.Add($"--network {o.Network}: not an IPv4 CIDR such as 10.244.0.0/16");
            return (null, refusals);
        }
        if (network.PrefixLength > MaxNetworkPrefix)
        {
            // Each node leases a /24 (Flannel's SubnetLen, and kube-controller-manager's default
            // --node-cidr-mask-size): a smaller network leaves room for one node or none.
            refusals.Add($"--network {o.Network}: too small: each node takes a /24, so the cluster network must be a /{MaxNetworkPrefix} or larger (e.g. 10.244.0.0/16)");
            return (null, refusals);
        }
        string netConf = NetConf(o, network, vni, port, vxlan);
        try
        {
            _ = NetworkConfig.Parse(JsonOfNetConf(netConf), out _);
        }
        catch (FormatException e)
        {
            refusals.Add($"--network {o.Network}: {e.Message}");
        }
        if (refusals.Count > 0)
        {
            return (null, refusals);
        }
        return (Template(o.Image, netConf), refusals);
    }

    // The ConfigMap's net-conf.json, indented as a YAML block scalar (4 spaces), as Flannel's manifest has it.
    private static string NetConf(ManifestOptions o, IPNetwork network, int vni, int port, bool vxlan)
    {
        StringBuilder b = new();
        b.Append("    {\n");
        b.Append(CultureInfo.InvariantCulture, $"      \"Network\": \"{network}\",\n");
        b.Append("      \"Backend\": {\n");
        if (vxlan)
        {
            b.Append("        \"Type\": \"vxlan\",\n");
            b.Append(CultureInfo.InvariantCulture, $"        \"VNI\": {vni},\n");
            if (o.DirectRouting)
            {
                b.Append("        \"DirectRouting\": true,\n");
            }
            if (o.Gbp)
            {
                b.Append("        \"GBP\": true,\n");
            }
            b.Append(CultureInfo.InvariantCulture, $"        \"Port\": {port}\n");
        }
        else
        {
            b.Append("        \"Type\": \"host-gw\"\n");
        }
        b.Append("      }\n");
        b.Append("    }\n");
        return b.ToString();
    }

    private static string JsonOfNetConf(string indented) =>
        string.Join('\n', indented.Split('\n').Select(l => l.Length >= 4 ? l[4..] : l));

    private static string Template(string image, string netConf) => Head + netConf + Middle.Replace("@IMAGE@", image, StringComparison.Ordinal);

    private const string Head = """
        # Twill: a Flannel-compatible pod network. Rendered by `twill manifest`; the defaults are the
        # seed's (10.244.0.0/16, vxlan VNI 4096 on UDP 4789, the vxlan0 CNI network), which Windows
        # nodes accept too. Apply with `kubectl apply -f`; remove with `kubectl delete -f`.
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: kube-twill
          labels:
            k8s-app: twill
            pod-security.kubernetes.io/enforce: privileged
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: twill
          namespace: kube-twill
        ---
        # Exactly what the Kubernetes lease store does: read and watch nodes (podCIDRs, peers'
        # annotations), write this node's annotations and NetworkUnavailable condition
        # (nodes/status), and read its own pod to find its node when NODE_NAME is not set.
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: twill
        rules:
        - apiGroups: [""]
          resources: ["nodes"]
          verbs: ["get", "list", "watch"]
        - apiGroups: [""]
          resources: ["nodes/status"]
          verbs: ["patch"]
        - apiGroups: [""]
          resources: ["pods"]
          verbs: ["get"]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: twill
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: twill
        subjects:
        - kind: ServiceAccount
          name: twill
          namespace: kube-twill
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: twill-cfg
          namespace: kube-twill
          labels:
            k8s-app: twill
        data:
          cni-conf.json: |
            {
              "name": "vxlan0",
              "plugins": [
                { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
                { "type": "portmap", "capabilities": { "portMappings": true } }
              ]
            }
          net-conf.json: |

        """;

    private const string Middle = """
        ---
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: twill
          namespace: kube-twill
          labels:
            k8s-app: twill
        spec:
          selector:
            matchLabels:
              k8s-app: twill
          template:
            metadata:
              labels:
                k8s-app: twill
            spec:
              nodeSelector:
                kubernetes.io/os: linux
              hostNetwork: true
              priorityClassName: system-node-critical
              serviceAccountName: twill
              tolerations:
              - operator: Exists
                effect: NoSchedule
              initContainers:
              # The CNI binaries and the conflist, each copied beside its target and renamed onto
              # it, so the kubelet never reads half a file.
              - name: install-cni
                image: @IMAGE@
                command: ["/bin/sh", "-c"]
                args:
                - |
                  set -e
                  for f in /opt/twill/cni/*; do
                    cp "$f" "/opt/cni/bin/.$(basename "$f").twill-new"
                    mv -f "/opt/cni/bin/.$(basename "$f").twill-new" "/opt/cni/bin/$(basename "$f")"
                  done
                  cp /etc/kube-flannel/cni-conf.json /etc/cni/net.d/.10-twill.conflist.twill-new
                  mv -f /etc/cni/net.d/.10-twill.conflist.twill-new /etc/cni/net.d/10-twill.conflist
                volumeMounts:
                - name: cni-plugin
                  mountPath: /opt/cni/bin
                - name: cni
                  mountPath: /etc/cni/net.d
                - name: twill-cfg
                  mountPath: /etc/kube-flannel/
              containers:
              - name: twill
                image: @IMAGE@
                command: ["/opt/twill/bin/twill"]
                args:
                - agent
                - --ip-masq
                - --kube-subnet-mgr
                - --healthz-ip=127.0.0.1
                - --healthz-port=10267
                resources:
                  requests:
                    cpu: 100m
                    memory: 50Mi
                # NET_ADMIN for links, routes, neighbours and firewall rules; NET_RAW for the raw
                # sockets iptables uses. Not privileged: nothing else is needed.
                securityContext:
                  privileged: false
                  capabilities:
                    add: ["NET_ADMIN", "NET_RAW"]
                env:
                - name: NODE_NAME
                  valueFrom:
                    fieldRef:
                      fieldPath: spec.nodeName
                - name: POD_NAME
                  valueFrom:
                    fieldRef:
                      fieldPath: metadata.name
                - name: POD_NAMESPACE
                  valueFrom:
                    fieldRef:
                      fieldPath: metadata.namespace
                livenessProbe:
                  httpGet:
                    host: 127.0.0.1
                    path: /healthz
                    port: 10267
                  initialDelaySeconds: 10
                  periodSeconds: 10
                readinessProbe:
                  httpGet:
                    host: 127.0.0.1
                    path: /readyz
                    port: 10267
                  periodSeconds: 5
                volumeMounts:
                - name: run
                  mountPath: /run/flannel
                - name: state
                  mountPath: /var/lib/twill
                - name: twill-cfg
                  mountPath: /etc/kube-flannel/
                - name: xtables-lock
                  mountPath: /run/xtables.lock
              volumes:
              - name: run
                hostPath:
                  path: /run/flannel
              - name: state
                hostPath:
                  path: /var/lib/twill
                  type: DirectoryOrCreate
              - name: cni-plugin
                hostPath:
                  path: /opt/cni/bin
              - name: cni
                hostPath:
                  path: /etc/cni/net.d
              - name: twill-cfg
                configMap:
                  name: twill-cfg
              - name: xtables-lock
                hostPath:
                  path: /run/xtables.lock
                  type: FileOrCreate

        """;
}
