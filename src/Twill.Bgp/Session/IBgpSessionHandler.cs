using Twill.Bgp.Wire;

namespace Twill.Bgp.Session;

/// <summary>What a session tells its owner (the speaker). Called on the session's loop, one call at a time.</summary>
public interface IBgpSessionHandler
{
    /// <summary>Established: send the initial UPDATEs and End-of-RIB through <see cref="BgpSession.Send"/>.</summary>
    void OnEstablished(BgpSession session, NegotiatedSession negotiated);

    void OnUpdate(BgpSession session, UpdateMessage update);

    /// <summary>The peer asked for our routes of <paramref name="family"/> again (RFC 2918).</summary>
    void OnRouteRefresh(BgpSession session, BgpFamily family);

    void OnDown(BgpSession session, SessionDownAction down);
}
