// The one translation unit that compiles Asio, Asio.SSL and Beast. Every other file that uses
// them sees BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION (set PUBLIC on
// tandem_asio_beast) and only declares, which keeps 2-core builds sane.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
