using Microsoft.Extensions.Logging;
using Twill.Bgp.Wire;

namespace Twill.Bgp.Session;

/// <summary>What the driver must do after feeding the FSM an event.</summary>
public abstract record BgpAction;

/// <summary>Open an outgoing TCP connection, known from now on as <paramref name="ConnectionId"/>.</summary>
public sealed record ConnectAction(int ConnectionId) : BgpAction;

public sealed record SendAction(int ConnectionId, BgpMessage Message) : BgpAction;

/// <summary>Close the connection (after sending what is queued).</summary>
public sealed record CloseAction(int ConnectionId) : BgpAction;

public sealed record EstablishedAction(int ConnectionId, NegotiatedSession Session) : BgpAction;

/// <summary>The session left Established. <paramref name="PeerKeepsRoutes"/>: graceful restart was negotiated and no NOTIFICATION ended it.</summary>
public sealed record SessionDownAction(string Reason, bool PeerKeepsRoutes, NegotiatedSession Session) : BgpAction;

public sealed record UpdateReceivedAction(UpdateMessage Update) : BgpAction;

public sealed record RouteRefreshRequestedAction(BgpFamily Family) : BgpAction;

public sealed record LogAction(LogLevel Level, string Message) : BgpAction;
