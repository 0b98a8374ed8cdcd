using System.Text;
using Google.Protobuf;
using Twill.Leases;
using Twill.Leases.Etcd;
using Twill.Leases.Store;

namespace Twill.Fuzz;

/// <summary>
/// A lease as a peer wrote it. Input: the raw etcd key (first line) and the value (the rest), read as
/// the etcd store reads a watch event; the whole input is also read as a file-store record. Every
/// reader here is a Try: any exception is a bug. A lease that reads must write back as itself.
/// </summary>
internal static class LeaseTarget
{
    private static readonly EtcdKeyLayout Layout = new("/coreos.com/network");

    public static void Run(byte[] data)
    {
        int newline = Array.IndexOf(data, (byte)'\n');
        byte[] keyBytes = newline < 0 ? data : data[..newline];
        string value = newline < 0 ? "" : Encoding.UTF8.GetString(data, newline + 1, data.Length - newline - 1);
        string? key = Layout.LeaseKeyOf(ByteString.CopyFrom(keyBytes));
        if (key is not null)
        {
            Read(new LeaseRecord(key, value, DateTimeOffset.UnixEpoch, 1));
        }
        if (FileLeaseRecordCodec.Decode(data) is { } record)
        {
            Read(record);
        }
    }

    private static void Read(LeaseRecord record)
    {
        if (!Lease.TryFromRecord(record, out Lease? lease, out _))
        {
            return;
        }
        if (lease.Key != record.Key)
        {
            throw new InvalidOperationException($"lease key '{record.Key}' read back as '{lease.Key}'");
        }
        _ = lease.Attrs.VxlanData;
        _ = lease.Attrs.VxlanV6Data;
        string json = lease.Attrs.ToJson();
        if (!LeaseAttrs.TryParse(json, out LeaseAttrs? again, out string? error))
        {
            throw new InvalidOperationException($"lease value {record.Value} wrote back as {json}, which does not read: {error}");
        }
        if (again != lease.Attrs)
        {
            throw new InvalidOperationException($"lease value {record.Value} wrote back as {json}, which reads differently");
        }
    }
}
