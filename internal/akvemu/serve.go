package akvemu

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Serve accepts connections on ln until ctx is cancelled or Close is called. Each
// connection is sniffed: a TLS ClientHello is served as HTTPS at whatever Azure host name
// the client asks for (SNI); "CONNECT host:443" is answered as an HTTP proxy that
// terminates the tunnel's TLS itself with a leaf for that host; any other plain HTTP
// request may only reach the admin API. Serve closes ln before it returns.
func (e *Emulator) Serve(ctx context.Context, ln net.Listener) error {
	tlsLn := newChanListener(ln.Addr())
	plainLn := newChanListener(ln.Addr())
	secure := &http.Server{Handler: e.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: e.errorLog()}
	plain := &http.Server{Handler: http.HandlerFunc(e.plainRoute), ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: e.errorLog()}
	var wg sync.WaitGroup
	wg.Go(func() { _ = secure.Serve(tlsLn) })
	wg.Go(func() { _ = plain.Serve(plainLn) })

	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-e.closing:
		case <-stop:
		}
		_ = ln.Close()
	}()
	fallback := hostOnly(ln.Addr().String())
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			break
		}
		go e.dispatch(c, fallback, tlsLn, plainLn)
	}
	close(stop)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = secure.Shutdown(shutdownCtx)
	_ = plain.Shutdown(shutdownCtx)
	wg.Wait()
	if ctx.Err() != nil || e.isClosed() || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("accept: %w", err)
}

// dispatch sniffs the first bytes of a connection and hands it to the right server.
func (e *Emulator) dispatch(c net.Conn, fallback string, tlsLn, plainLn *chanListener) {
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		_ = c.Close()
		return
	}
	bc := &bufferedConn{Conn: c, r: br}
	if first[0] == 0x16 { // TLS handshake record
		_ = c.SetReadDeadline(time.Time{})
		tlsLn.push(tls.Server(bc, e.ca.serverConfig(fallback)))
		return
	}
	if head, _ := br.Peek(8); string(head) == "CONNECT " {
		e.connect(bc, br, tlsLn)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	plainLn.push(bc)
}

// connect answers an HTTP CONNECT. Only emulated Azure hosts are tunnelled; the tunnel is
// not forwarded anywhere but served here, behind a TLS leaf for the requested name.
func (e *Emulator) connect(bc *bufferedConn, br *bufio.Reader, tlsLn *chanListener) {
	req, err := http.ReadRequest(br)
	if err != nil {
		_ = bc.Close()
		return
	}
	target := req.Host
	if target == "" {
		target = req.URL.Host
	}
	host := hostOnly(target)
	if !e.resolves(host) {
		// What a real proxy says when the name does not resolve.
		msg := "akvemu: " + host + " is not an emulated Azure host (no such host)\n"
		_, _ = fmt.Fprintf(bc, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
		_ = bc.Close()
		return
	}
	if _, err := bc.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = bc.Close()
		return
	}
	_ = bc.SetReadDeadline(time.Time{})
	tlsLn.push(tls.Server(bc, e.ca.serverConfig(host)))
}

// bufferedConn is a connection whose first bytes were read into a bufio.Reader while
// sniffing; reads drain the buffer first.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// NetConn exposes the raw connection, so that a reset fault can reach the TCP socket.
func (b *bufferedConn) NetConn() net.Conn { return b.Conn }

// chanListener is a net.Listener fed by dispatch.
type chanListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
