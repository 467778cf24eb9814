"""Realtime GraphQL over websockets at /graphql.

- ``consumers``: the Channels consumers, one per subprotocol (graphql-transport-ws and the
  legacy graphql-ws of subscriptions-transport-ws), chosen by Sec-WebSocket-Protocol.
- ``operations``: starting an operation (parse, validate, authenticate, pick the topic) and
  running a subscription's selection for one event, as the subscriber.
- ``hub``: one per process (event loop): listens to the channel-layer groups its subscribers
  need, loads each event's object once, runs every subscriber's selection in one thread hop
  and hands the results to the connections.
- ``subscriptions``: the GraphQL ``Subscription`` type.

See docs/realtime.md.
"""
