using System.Net;

namespace Twill.Bgp.Wire;

/// <summary>
/// UPDATE (RFC 4271 §4.3):
/// <code>
/// +-----------------------------------------------------+
/// |   Withdrawn Routes Length (2 octets)                |
/// +-----------------------------------------------------+
/// |   Withdrawn Routes (variable)                       |
/// +-----------------------------------------------------+
/// |   Total Path Attribute Length (2 octets)            |
/// +-----------------------------------------------------+
/// |   Path Attributes (variable)                        |
/// +-----------------------------------------------------+
/// |   Network Layer Reachability Information (variable) |
/// +-----------------------------------------------------+
/// </code>
/// <see cref="WithdrawnRoutes"/> and <see cref="Nlri"/> are IPv4; other families travel in
/// <see cref="MpReachNlriAttribute"/> / <see cref="MpUnreachNlriAttribute"/>.
/// </summary>
public sealed record UpdateMessage : BgpMessage
{
    public override BgpMessageType Type => BgpMessageType.Update;

    public IReadOnlyList<IPNetwork> WithdrawnRoutes { get; init; } = [];

    public IReadOnlyList<PathAttribute> Attributes { get; init; } = [];

    public IReadOnlyList<IPNetwork> Nlri { get; init; } = [];

    /// <summary>
    /// Set by the decoder when an attribute was malformed in a way RFC 7606 answers without a
    /// session reset: <see cref="UpdateErrorAction.TreatAsWithdraw"/> means every prefix this
    /// UPDATE announces must be handled as withdrawn.
    /// </summary>
    public UpdateError? Error { get; init; }

    /// <summary>The IPv4 End-of-RIB marker: an UPDATE with nothing in it.</summary>
    public static UpdateMessage EndOfRib(BgpFamily family) =>
        family == BgpFamily.IPv4Unicast
            ? new UpdateMessage()
            : new UpdateMessage { Attributes = [new MpUnreachNlriAttribute(family, [])] };

    /// <summary>
    /// Whether this is an End-of-RIB marker (RFC 4724 §2): for IPv4 unicast an empty UPDATE, for
    /// other families an UPDATE holding only an empty MP_UNREACH_NLRI of that family.
    /// </summary>
    public bool IsEndOfRib(out BgpFamily family)
    {
        family = BgpFamily.IPv4Unicast;
        if (WithdrawnRoutes.Count > 0 || Nlri.Count > 0 || Error is not null)
        {
            return false;
        }
        if (Attributes.Count == 0)
        {
            return true;
        }
        if (Attributes.Count == 1 && Attributes[0] is MpUnreachNlriAttribute { Withdrawn.Count: 0 } unreach)
        {
            family = unreach.Family;
            return true;
        }
        return false;
    }

    public T? Get<T>() where T : PathAttribute => Attributes.OfType<T>().FirstOrDefault();
}

/// <summary>How RFC 7606 says to handle a malformed UPDATE that does not reset the session.</summary>
public enum UpdateErrorAction
{
    /// <summary>RFC 7606 §2: every NLRI in the UPDATE (NLRI field and MP_REACH_NLRI) is withdrawn.</summary>
    TreatAsWithdraw = 1,

    /// <summary>RFC 7606 §2: the malformed attribute is dropped and the rest of the UPDATE stands.</summary>
    AttributeDiscard = 2,
}

/// <summary>What was wrong with an UPDATE the session keeps running through (RFC 7606).</summary>
public sealed record UpdateError(UpdateErrorAction Action, string Reason);
