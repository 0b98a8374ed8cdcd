using Twill.Testing;

namespace Twill.Leases.Etcd.Tests;

public sealed class EtcdSecurityTests
{
    private static readonly TimeSpan Day = TimeSpan.FromHours(24);

    [Fact]
    public async Task Store_UsernamePassword_WorksAndWrongPasswordIsNamed()
    {
        using EtcdServer etcd = EtcdServer.Start();
        string prefix = Etcd.FreshPrefix();
        // etcd needs the root user before auth can be turned on; Flannel's own user gets a role on the prefix.
        etcd.Etcdctl("user", "add", "root:rootpw", "--interactive=false");
        etcd.Etcdctl("role", "add", "flannel");
        etcd.Etcdctl("role", "grant-permission", "flannel", "--prefix=true", "readwrite", prefix + "/");
        etcd.Etcdctl("user", "add", "flannel:s3cret", "--interactive=false");
        etcd.Etcdctl("user", "grant-role", "flannel", "flannel");
        etcd.Etcdctl("auth", "enable");

        await using (EtcdLeaseStore store = Etcd.Store(etcd.ClientUrls, prefix, o => o with { Username = "flannel", Password = "s3cret" }))
        {
            Assert.NotNull(await store.TryCreateAsync("10.244.1.0-24", "{}", Day, CancellationToken.None));
            Assert.Equal(["10.244.1.0-24"], (await store.ListAsync(CancellationToken.None)).Records.Select(r => r.Key));
            await using WatchRecorder watch = new(store, 0);
            Assert.Equal("10.244.1.0-24", (await watch.NextAsync()).Key);
        }

        await using EtcdLeaseStore wrong = Etcd.Store(etcd.ClientUrls, prefix, o => o with { Username = "flannel", Password = "nope" });
        EtcdStoreException denied = await Assert.ThrowsAsync<EtcdStoreException>(() => wrong.ListAsync(CancellationToken.None));
        Assert.Contains(etcd.ClientUrls[0], denied.Message, StringComparison.Ordinal);
        Assert.Contains("authentication failed", denied.Message, StringComparison.Ordinal);

        await using EtcdLeaseStore anonymous = Etcd.Store(etcd.ClientUrls, prefix);
        EtcdStoreException noUser = await Assert.ThrowsAsync<EtcdStoreException>(
            () => anonymous.TryCreateAsync("10.244.2.0-24", "{}", Day, CancellationToken.None));
        Assert.Contains(prefix + "/subnets/10.244.2.0-24", noUser.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_TlsWithClientCertificate_WorksAndUntrustedServerIsRefused()
    {
        using EtcdServer etcd = EtcdServer.Start(tls: true);
        EtcdTlsFiles tls = etcd.Tls!;
        string prefix = Etcd.FreshPrefix();
        Assert.StartsWith("https://", etcd.ClientUrls[0], StringComparison.Ordinal);

        await using (EtcdLeaseStore store = Etcd.Store(etcd.ClientUrls, prefix,
            o => o with { CaFile = tls.CaFile, CertFile = tls.ClientCertFile, KeyFile = tls.ClientKeyFile }))
        {
            Assert.NotNull(await store.TryCreateAsync("10.244.1.0-24", "{\"tls\":true}", Day, CancellationToken.None));
            Assert.Equal("{\"tls\":true}\n", etcd.Etcdctl("get", prefix + "/subnets/10.244.1.0-24", "--print-value-only"));
            await using WatchRecorder watch = new(store, 0);
            Assert.Equal("10.244.1.0-24", (await watch.NextAsync()).Key);
        }

        // A server whose certificate our CA did not sign is refused.
        await using EtcdLeaseStore otherCa = Etcd.Store(etcd.ClientUrls, prefix,
            o => o with { CaFile = tls.OtherCaFile, CertFile = tls.ClientCertFile, KeyFile = tls.ClientKeyFile });
        EtcdStoreException untrusted = await Assert.ThrowsAsync<EtcdStoreException>(() => otherCa.ListAsync(CancellationToken.None));
        Assert.Contains(etcd.ClientUrls[0], untrusted.Message, StringComparison.Ordinal);

        // etcd demands a client certificate.
        await using EtcdLeaseStore noCert = Etcd.Store(etcd.ClientUrls, prefix, o => o with { CaFile = tls.CaFile });
        await Assert.ThrowsAsync<EtcdStoreException>(() => noCert.ListAsync(CancellationToken.None));
    }
}
